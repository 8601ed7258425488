// A plain, blocking script at the very start of <body> (no inline JS: CSP), so that the classes
// GOV.UK Frontend's styles depend on are set before the first paint. Set later by app.js (a
// module, run once the page is parsed), they moved the menu and the filters after the page had
// appeared: a layout shift of 0.3 on a phone.
document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}
