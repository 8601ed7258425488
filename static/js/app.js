// Loaded as <script type="module" src="/static/js/app.js"> (no inline JS: CSP).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}

initAll()

// GOV.UK Frontend focuses the error summary or a success banner as it starts, but when the
// address has a fragment (#main-content after the skip link, #latest after a message) Chromium
// then moves focus to the body as it scrolls to the fragment, and a screen reader hears
// nothing. Once the page has loaded, give focus back to the summary or banner.
const announce = document.querySelector(
  '[data-module="govuk-error-summary"]:not([data-disable-auto-focus="true"]),' +
  '[data-module="govuk-notification-banner"][role="alert"]:not([data-disable-auto-focus="true"])'
)
if (announce && window.location.hash) {
  window.addEventListener('load', () => {
    if (document.activeElement === document.body) {
      announce.focus()
    }
  })
}
