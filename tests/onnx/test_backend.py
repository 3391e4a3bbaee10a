"""The official ONNX backend test suite run against graphc.onnx.backend (see backend_suite.py).

Cases whose ops are not all in graphc's registry are skipped with the missing ops named; cases
in backend_exclusions.EXCLUDED are skipped with their reason; every other case must pass.
"""
import backend_suite

globals().update(backend_suite.test_cases(__name__))
