"""The front end's machinery: layers, variables, symbolic tensors, tracing into IR."""
