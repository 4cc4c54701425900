"""The user's web browser (Python's webbrowser: $BROWSER, then the platform's openers)."""

from __future__ import annotations


class Browser:
    def open(self, url: str) -> bool:
        """Ask a browser to show url; False when this machine has none (then print the URL)."""
        import threading
        import webbrowser

        try:
            browser = webbrowser.get()
        except webbrowser.Error:
            return False
        # In a thread: some browsers webbrowser picks (a text one over SSH) block until closed.
        threading.Thread(target=browser.open, args=(url,), name="open-browser", daemon=True).start()
        return True
