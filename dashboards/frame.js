// Issue 14 item 6: on a narrow screen the sidebar covers the page, so choosing a page closes it (one tap, not two).
(() => {
  const doc = window.parent?.document ?? document;
  if (doc.documentElement.dataset.sidebarCloser) return; // once per browser tab: the frame re-renders every run
  doc.documentElement.dataset.sidebarCloser = "1";
  const NARROW = 768; // Streamlit's breakpoint: below it the sidebar overlays the page
  doc.addEventListener(
    "click",
    (event) => {
      const link = event.target.closest('[data-testid="stSidebarNav"] a');
      if (!link || doc.defaultView.innerWidth >= NARROW) return;
      const close = doc.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) doc.defaultView.setTimeout(() => close.click(), 0);
    },
    true,
  );
})();
