// Loaded as <script type="module" src="/static/js/app.js"> (no inline JS: CSP).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

// supported.js has set the body's js-enabled and govuk-frontend-supported classes already.
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
