"""ONNX interop: export graphc models/graphs as standard ONNX, and import ONNX models."""
from .export import export, to_model_proto
from .import_ import graph_from_onnx
from .model import OnnxModel, load

__all__ = ["export", "to_model_proto", "load", "graph_from_onnx", "OnnxModel"]
