"""graphc's IR: ONNX op types (opset 18, default domain) over a bipartite networkx graph."""
from .graph import CONST, INPUT, INTERMEDIATE, PARAM, STATE, Graph, Op, Value
from .types import FLOAT_DTYPES, TensorType, dtype_name, np_dtype, onnx_dtype
from .builder import GraphBuilder

OPSET = 18

__all__ = ["Graph", "Op", "Value", "TensorType", "GraphBuilder", "OPSET", "dtype_name", "np_dtype",
           "onnx_dtype", "FLOAT_DTYPES", "INPUT", "PARAM", "STATE", "CONST", "INTERMEDIATE"]
