"""The communications manager's pages: previews of every channel as customers see them, the review
page's and the compose page's HTML (Jinja2, autoescaped) and the compose page itself."""
