window.addEventListener('error', function (e) { var d = document.documentElement;
  d.setAttribute('data-errors', (d.getAttribute('data-errors') || '') + (e.message || 'error') + '; '); });
