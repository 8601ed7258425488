// Loaded as <script type="module" src="/static/js/app.js"> (no inline JS: CSP).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}

initAll()
