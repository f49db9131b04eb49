"""electra-demo: see inside an ELECTRA text classifier (pooling done right, Lightning training, Gradio explorer)."""
