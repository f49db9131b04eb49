"""The explorer without a server: `electra-demo export-web OUT` writes a static site that runs the model in the browser.

graph.py     the classifier as ONE ONNX graph (its own encode, pool and classify; the outputs the page shows)
tokenizer.py the checkpoint's WordPiece tokenizer for tokenizer.js: its tokenizer.json plus character tables read off
             the Rust tokenizer itself, so the browser gives the same ids
export.py    the site: index.html, app.js, tokenizer.js, model.onnx, model.json, the vendored npm files; the CLI
"""
