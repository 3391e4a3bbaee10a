"""``keras.config``: global settings (image data format, float type, epsilon)."""
_state = {"image_data_format": "channels_last", "floatx": "float32", "epsilon": 1e-7}


def image_data_format():
    return _state["image_data_format"]


def set_image_data_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', 'channels_last'. "
                         f"Received: data_format={data_format!r}")
    _state["image_data_format"] = data_format


def floatx():
    return _state["floatx"]


def set_floatx(value):
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown `floatx` value: {value!r}. Expected one of ['float32', 'float64'] (graphc)")
    _state["floatx"] = value


def epsilon():
    return _state["epsilon"]


def set_epsilon(value):
    _state["epsilon"] = float(value)


def backend():
    return "graphc"


def enable_unsafe_deserialization():
    """Let configs rebuild Python lambdas (Lambda layers) outside ``load_model(safe_mode=False)``, as
    Keras 3's ``keras.config.enable_unsafe_deserialization``."""
    _state["safe_mode"] = False


def in_safe_mode():
    """Whether deserialization refuses Python lambdas (True unless enable_unsafe_deserialization ran)."""
    return _state.get("safe_mode", True)
