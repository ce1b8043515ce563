"""Decision briefs: one content model built from a paired comparison and both runs' findings,
rendered as a PDF (printed by Debian's Chromium) and as PowerPoint slides (python-pptx)."""
