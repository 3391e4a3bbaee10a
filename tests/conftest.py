import faulthandler
import os
import tempfile

faulthandler.enable()
# compiled code is cached per test session (shared by xdist workers), never in the user's cache
os.environ.setdefault("GRAPHC_VERIFY_EACH", "1")  # every pass must leave a verified graph (the pipeline checks)
os.environ.setdefault("GRAPHC_CACHE_DIR", os.path.join(tempfile.gettempdir(), "graphc-test-cache"))
