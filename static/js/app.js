// Loaded as <script type="module" src="/static/js/app.js"> (no inline JS: CSP).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}

initAll()

// Find services: a new sort order applies at once, so the Sort button is for pages without
// JavaScript; and the filters, folded on small screens, start open where there is room.
for (const select of document.querySelectorAll('select[data-app-submit-on-change]')) {
  select.addEventListener('change', () => select.form.requestSubmit())
}
for (const button of document.querySelectorAll('[data-app-hidden-with-js]')) {
  button.hidden = true
  button.style.display = 'none' // .govuk-button sets display, which would beat [hidden]
}
if (window.matchMedia('(min-width: 40.0625em)').matches) {
  for (const details of document.querySelectorAll('details[data-app-open-on-wide]')) {
    details.open = true
  }
}
