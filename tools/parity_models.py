"""Model builders for the file-parity fixtures (tools/make_keras_parity_fixtures.py).

Each builder takes a ``keras`` module (real Keras 3, or ``graphc.keras``) and returns an uncompiled
model, so both sides build the same architecture. They cover issue 4's layers with non-default
arguments; tests/keras_models.py (weight-level parity) already covers the defaults. ``INPUTS``
says how to draw each model's inputs: ("normal", shape) or ("tokens", shape, vocab) or
("masked", shape) (normal features with whole steps set to 0.0, for Masking).
"""
from __future__ import annotations


def conv1d_variants(keras):
    """Conv1D causal + dilation, grouped + strided same, no bias; MaxPooling1D/AveragePooling1D same."""
    L = keras.layers
    x = keras.Input((13, 4))
    h = L.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu")(x)
    h = L.Conv1D(4, 3, strides=2, padding="same", groups=2, activation="tanh")(h)
    h = L.Conv1D(5, 2, use_bias=False)(h)
    a = L.MaxPooling1D(3, strides=2, padding="same")(h)
    b = L.AveragePooling1D(2, strides=1, padding="same")(h)
    return keras.Model(x, [L.GlobalMaxPooling1D(keepdims=True)(a), L.GlobalAveragePooling1D()(b)],
                       name="conv1d_variants")


def conv2d_groups_cf(keras):
    """Conv2D groups (channels_last) and channels_first Conv2D/pooling with per-axis strides."""
    L = keras.layers
    x = keras.Input((9, 8, 4))
    h = L.Conv2D(6, 3, groups=2, padding="same", activation="elu")(x)
    h = L.Conv2D(4, (2, 3), strides=(2, 1), dilation_rate=1, activation="sigmoid")(h)
    h = L.Permute((3, 1, 2))(h)
    h = L.Conv2D(3, (3, 2), padding="same", data_format="channels_first", dilation_rate=(1, 2))(h)
    p = L.MaxPooling2D((2, 3), strides=(1, 2), padding="same", data_format="channels_first")(h)
    q = L.AveragePooling2D((3, 2), strides=(2, 1), padding="same", data_format="channels_first")(h)
    g = L.GlobalMaxPooling2D(data_format="channels_first", keepdims=True)(p)
    r = L.GlobalAveragePooling2D(data_format="channels_first")(q)
    return keras.Model(x, [L.Flatten()(g), r, L.Flatten(data_format="channels_first")(q)], name="conv2d_groups_cf")


def conv3d_cf(keras):
    """Conv3D channels_first (same, strided) and the 3-D pools in channels_first, padding same."""
    L = keras.layers
    x = keras.Input((2, 6, 5, 7))
    h = L.Conv3D(4, 3, padding="same", data_format="channels_first", activation="relu")(x)
    h = L.Conv3D(3, (2, 3, 2), strides=(1, 2, 2), data_format="channels_first")(h)
    a = L.MaxPooling3D(2, strides=1, padding="same", data_format="channels_first")(h)
    b = L.AveragePooling3D((2, 1, 2), padding="same", data_format="channels_first")(h)
    c = L.GlobalAveragePooling3D(data_format="channels_first", keepdims=True)(a)
    d = L.GlobalMaxPooling3D(data_format="channels_first")(b)
    e = L.Conv3D(2, 2, groups=1, padding="valid", dilation_rate=(1, 1, 2))(L.Permute((2, 3, 4, 1))(h))
    return keras.Model(x, [L.Flatten()(c), d, L.Flatten()(e)], name="conv3d_cf")


def separable_depthwise(keras):
    """SeparableConv1D/2D with depth_multiplier, strides, dilation; DepthwiseConv2D strided same."""
    L = keras.layers
    s = keras.Input((11, 4))
    a = L.SeparableConv1D(6, 3, depth_multiplier=2, strides=2, padding="same", activation="relu")(s)
    a = L.SeparableConv1D(3, 2, depth_multiplier=3, dilation_rate=2, use_bias=False)(a)
    i = keras.Input((9, 9, 3))
    b = L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", activation="tanh")(i)
    b = L.SeparableConv2D(5, (2, 3), depth_multiplier=3, dilation_rate=(2, 1), padding="same")(b)
    c = L.DepthwiseConv2D((2, 2), data_format="channels_first", depth_multiplier=1)(L.Permute((3, 1, 2))(b))
    c = L.SeparableConv2D(4, 2, data_format="channels_first", strides=2)(c)
    return keras.Model([s, i], [L.Flatten()(a), L.Flatten()(c)], name="separable_depthwise")


def conv_transpose(keras):
    """Conv2DTranspose strides + same + output_padding, valid + dilation, channels_first; Conv1DTranspose."""
    L = keras.layers
    x = keras.Input((5, 4, 3))
    h = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, activation="relu")(x)
    h = L.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding="valid", output_padding=(1, 2))(h)
    h = L.Permute((3, 1, 2))(h)
    h = L.Conv2DTranspose(2, 2, strides=1, dilation_rate=2, data_format="channels_first")(h)
    s = keras.Input((6, 2))
    t = L.Conv1DTranspose(3, 4, strides=3, padding="same", output_padding=2)(s)
    return keras.Model([x, s], [L.Flatten()(h), t], name="conv_transpose")


def pad_crop_upsample(keras):
    """ZeroPadding/Cropping/UpSampling 1-D/2-D/3-D with asymmetric sizes and channels_first."""
    L = keras.layers
    x = keras.Input((6, 5, 3))
    h = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    h = L.Cropping2D(((2, 0), (1, 1)))(h)
    h = L.UpSampling2D((2, 3))(h)
    c = L.Permute((3, 1, 2))(x)
    c = L.ZeroPadding2D((1, 2), data_format="channels_first")(c)
    c = L.Cropping2D(((1, 0), (0, 2)), data_format="channels_first")(c)
    c = L.UpSampling2D(2, data_format="channels_first")(c)
    s = keras.Input((5, 2))
    t = L.UpSampling1D(3)(L.Cropping1D((1, 2))(L.ZeroPadding1D((2, 1))(s)))
    v = keras.Input((3, 4, 2, 2))
    w = L.ZeroPadding3D(((1, 0), (0, 1), (1, 1)))(v)
    w = L.Cropping3D(((0, 1), (1, 0), (0, 2)))(w)
    w = L.UpSampling3D((1, 2, 2))(w)
    return keras.Model([x, s, v], [h, c, t, w], name="pad_crop_upsample_more")


def rnn_variants(keras):
    """SimpleRNN/LSTM/GRU with go_backwards, return_state, reset_after=False, activations, stacked."""
    L = keras.layers
    x = keras.Input((6, 3))
    a = L.SimpleRNN(5, activation="relu", go_backwards=True, return_sequences=True)(x)
    b, bh, bc = L.LSTM(4, return_sequences=True, return_state=True, activation="softsign",
                       recurrent_activation="hard_sigmoid", unit_forget_bias=False)(a)
    c, ch = L.GRU(3, reset_after=False, return_state=True, go_backwards=True)(b)
    d = L.GRU(4, activation="relu", recurrent_activation="tanh", use_bias=False)(x)
    e, eh = L.SimpleRNN(2, return_state=True, use_bias=False)(b)
    f = L.LSTM(3, go_backwards=True)(L.GRU(3, return_sequences=True)(x))
    return keras.Model(x, [c, ch, bh, bc, d, e, eh, f], name="rnn_variants")


def rnn_initial_state(keras):
    """initial_state from other inputs, and an RNN fed its states back from a second layer."""
    L = keras.layers
    x = keras.Input((5, 3))
    h0 = keras.Input((4,))
    c0 = keras.Input((4,))
    y, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x, initial_state=[h0, c0])
    z = L.LSTM(4, go_backwards=True)(y, initial_state=[h, c])
    g = L.GRU(4, reset_after=False)(x, initial_state=[h0])
    return keras.Model([x, h0, c0], [z, g], name="rnn_initial_state")


def bidirectional_more(keras):
    """Bidirectional with each merge mode over LSTM/GRU/SimpleRNN, return_state, stacked."""
    L = keras.layers
    x = keras.Input((5, 3))
    a = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="concat")(x)
    b = L.Bidirectional(L.GRU(3, return_sequences=True, reset_after=False), merge_mode="sum")(a)
    c = L.Bidirectional(L.SimpleRNN(2, activation="relu"), merge_mode="mul")(b)
    d = L.Bidirectional(L.GRU(2), merge_mode="ave")(x)
    e, fh, fc, bh, bc = L.Bidirectional(L.LSTM(2, return_state=True))(x)
    return keras.Model(x, [c, d, e, fh, fc, bh, bc], name="bidirectional_more")


def rnn_cells_more(keras):
    """keras.layers.RNN over each cell with options, go_backwards, return_state, a stacked cell list."""
    L = keras.layers
    x = keras.Input((4, 3))
    a = L.RNN(L.GRUCell(3, reset_after=False), return_sequences=True, go_backwards=True)(x)
    b, bh = L.RNN(L.SimpleRNNCell(4, activation="relu"), return_state=True)(a)
    c = L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_sequences=True)(x)
    d = L.RNN(L.LSTMCell(2, unit_forget_bias=False), go_backwards=True)(c)
    return keras.Model(x, [b, bh, d], name="rnn_cells_more")


def time_distributed(keras):
    """TimeDistributed over Conv2D, MaxPooling2D, Flatten and Dense; RepeatVector; Reshape(-1)."""
    L = keras.layers
    x = keras.Input((3, 6, 6, 2))
    h = L.TimeDistributed(L.Conv2D(3, 3, activation="relu"))(x)
    h = L.TimeDistributed(L.MaxPooling2D(2))(h)
    h = L.TimeDistributed(L.Flatten())(h)
    h = L.TimeDistributed(L.Dense(4, activation="tanh"))(h)
    v = keras.Input((5,))
    r = L.RepeatVector(3)(L.Dense(4)(v))
    m = L.Concatenate(axis=-1)([h, r])
    m = L.Reshape((-1, 4))(m)
    return keras.Model([x, v], [L.Permute((2, 1))(m)], name="time_distributed_more")


def merges(keras):
    """Subtract/Average/Maximum/Minimum/Multiply/Add, Concatenate(axis=1), Dot(axes, normalize)."""
    L = keras.layers
    a = keras.Input((4, 3))
    b = keras.Input((4, 3))
    u = keras.Input((5,))
    w = keras.Input((5,))
    s = L.Subtract()([a, b])
    av = L.Average()([a, b, s])
    mx = L.Maximum()([a, b])
    mn = L.minimum([a, b, av])
    mu = L.Multiply()([mx, mn])
    ad = L.add([mu, s])
    cat = L.Concatenate(axis=1)([ad, a])
    d1 = L.Dot(axes=(2, 2), normalize=True)([a, b])
    d2 = L.Dot(axes=1, normalize=True)([u, w])
    d3 = L.Dot(axes=(1, 1))([a, b])
    d4 = L.dot([u, w], axes=-1)
    return keras.Model([a, b, u, w], [cat, d1, d2, d3, d4], name="merges_more")


def activation_layers(keras):
    """ReLU(max_value, negative_slope, threshold), LeakyReLU, PReLU(shared_axes), ELU, Softmax(axis)."""
    L = keras.layers
    x = keras.Input((5, 4, 3))
    a = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3)(x)
    b = L.ReLU(max_value=6.0)(x)
    c = L.ReLU(negative_slope=0.2, threshold=0.2)(x)
    d = L.LeakyReLU(negative_slope=0.05)(x)
    e = L.PReLU(shared_axes=[1, 2])(x)
    f = L.PReLU(alpha_initializer="ones", shared_axes=[3])(x)
    g = L.ELU(alpha=0.4)(x)
    h = L.Softmax(axis=1)(x)
    i = L.Softmax(axis=[1, 2])(x)
    j = L.Activation("gelu")(x)
    k = L.Activation("silu")(x)
    m = L.Activation("relu6")(x)
    return keras.Model(x, [a, b, c, d, e, f, g, h, i, j, k, m], name="activation_layers_more")


def normalization(keras):
    """LayerNormalization over other axes / without center or scale; BatchNormalization with moving
    statistics, on axis 1 (channels_first) and without center/scale."""
    L = keras.layers
    x = keras.Input((4, 5, 3))
    a = L.LayerNormalization(axis=1)(x)
    b = L.LayerNormalization(axis=[1, 2], center=False)(x)
    c = L.LayerNormalization(scale=False, epsilon=0.01)(x)
    d = L.BatchNormalization(axis=1, momentum=0.9, epsilon=0.01)(x)
    e = L.BatchNormalization(center=False, scale=False)(x)
    f = L.BatchNormalization(axis=2, scale=False)(x)
    return keras.Model(x, [a, b, c, d, e, f], name="normalization_more")


def embedding_masking(keras):
    """Embedding(mask_zero) -> LSTM -> masked GlobalAveragePooling1D; Masking -> GRU/SimpleRNN."""
    L = keras.layers
    t = keras.Input((7,), dtype="int32")
    e = L.Embedding(12, 5, mask_zero=True)(t)
    h = L.LSTM(4, return_sequences=True)(e)
    p = L.GlobalAveragePooling1D()(h)
    q = L.Bidirectional(L.GRU(2), merge_mode="sum")(e)
    s = keras.Input((6, 3))
    m = L.Masking(mask_value=0.0)(s)
    r = L.SimpleRNN(3, return_sequences=True, go_backwards=True)(m)
    r = L.GRU(2)(r)
    return keras.Model([t, s], [p, q, r], name="embedding_masking")


def lambda_ops(keras):
    """Lambda layers over tensor operators and a keras.ops Lambda; keras.ops calls on KerasTensors."""
    L = keras.layers
    x = keras.Input((6,))
    h = L.Dense(6)(x)
    a = L.Lambda(lambda t: t * t - 0.5 * t)(h)
    b = L.Lambda(lambda t: t[:, 1:4] * 2.0)(h)
    c = keras.ops.sum(keras.ops.abs(h), axis=-1, keepdims=True)
    d = keras.ops.maximum(keras.ops.exp(-keras.ops.square(h)), keras.ops.sigmoid(h))
    e = keras.ops.transpose(keras.ops.reshape(h, (-1, 2, 3)), (0, 2, 1))
    return keras.Model(x, [a, b, c, d, e], name="lambda_ops")


def inference_noise(keras):
    """Dropout, SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization:
    identities at inference."""
    L = keras.layers
    x = keras.Input((6, 4))
    h = L.Dropout(0.5, noise_shape=(None, 1, 4))(x)
    h = L.SpatialDropout1D(0.3)(h)
    h = L.GaussianNoise(0.2)(h)
    h = L.GaussianDropout(0.3)(h)
    h = L.AlphaDropout(0.2)(h)
    h = L.ActivityRegularization(l1=0.01, l2=0.02)(h)
    h = L.Dense(3)(h)
    i = keras.Input((4, 4, 2))
    j = L.SpatialDropout2D(0.4)(i)
    return keras.Model([x, i], [h, L.Identity()(L.Flatten()(j))], name="inference_noise")


def multi_io_nested(keras):
    """Two inputs, three outputs, a nested Sequential and a nested functional model, a shared layer."""
    L = keras.layers
    inner = keras.Sequential([L.Dense(6, activation="relu"), L.Dense(4)], name="inner_seq")
    ui = keras.Input((4,))
    sub = keras.Model(ui, L.Dense(3, activation="tanh")(L.Dense(5)(ui)), name="inner_fn")
    a = keras.Input((5,), name="left")
    b = keras.Input((7,), name="right")
    shared = L.Dense(5, name="shared")
    ha = inner(shared(a))
    hb = inner(shared(L.Dense(5)(b)))
    o1 = L.Dense(2, activation="softmax", name="probs")(L.concatenate([ha, hb]))
    o2 = sub(L.subtract([ha, hb]))
    o3 = L.Dense(1, name="score")(ha)
    return keras.Model([a, b], [o1, o2, o3], name="multi_io_nested")


def sequential_mixed(keras):
    """A Sequential CNN with BatchNormalization (trained statistics), pooling, Dropout and Dense."""
    L = keras.layers
    return keras.Sequential([
        keras.Input((10, 10, 3)), L.Conv2D(6, 3, padding="same", use_bias=False), L.BatchNormalization(),
        L.Activation("relu"), L.MaxPooling2D(2), L.SeparableConv2D(8, 3, padding="same"),
        L.BatchNormalization(momentum=0.8), L.ReLU(), L.GlobalAveragePooling2D(), L.Dropout(0.3),
        L.Dense(4, activation="softmax")], name="sequential_mixed")


def image_tutorial(keras):
    """The image-classification tutorial: augmentation (identity at inference), Rescaling(1/255), a CNN."""
    L = keras.layers
    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1),
                                L.RandomTranslation(0.1, 0.2), L.RandomContrast(0.2), L.RandomBrightness(0.1)],
                               name="data_augmentation")
    return keras.Sequential([
        keras.Input((12, 12, 3)), augment, L.Rescaling(1.0 / 255), L.Conv2D(4, 3, padding="same", activation="relu"),
        L.MaxPooling2D(), L.Conv2D(6, 3, padding="same", activation="relu"), L.MaxPooling2D(), L.Dropout(0.2),
        L.Flatten(), L.Dense(8, activation="relu"), L.Dense(3, name="outputs")], name="image_tutorial")


def resizing(keras):
    """UpSampling2D's interpolations, Resizing (up, down, antialias, crop_to_aspect_ratio, nearest,
    channels_first), CenterCrop (smaller and larger than the input), Rescaling with per-channel offsets."""
    L = keras.layers
    x = keras.Input((5, 6, 3))
    outs = [L.UpSampling2D((2, 3), interpolation=m)(x) for m in ("bilinear", "bicubic", "lanczos3", "lanczos5")]
    outs.append(L.UpSampling2D(2, interpolation="bilinear", data_format="channels_first")(L.Permute((3, 1, 2))(x)))
    outs += [L.Resizing(9, 4)(x), L.Resizing(3, 11, interpolation="bicubic", antialias=True)(x),
             L.Resizing(4, 4, crop_to_aspect_ratio=True)(x), L.Resizing(7, 3, interpolation="nearest")(x),
             L.Resizing(2, 8, interpolation="lanczos3", data_format="channels_first")(L.Permute((3, 1, 2))(x)),
             L.CenterCrop(3, 4)(x), L.CenterCrop(7, 6)(x), L.Rescaling(0.5, offset=[0.1, -0.2, 0.3])(x),
             L.Rescaling([2.0, 1.0, 0.5])(x)]
    return keras.Model(x, outs, name="resizing")


def regularized(keras):
    """Regularizers, constraints, non-default initializers and dtype-int inputs in the configs; LayerNormalization
    with rms_scaling; Embedding with input_length (Keras 3 accepts it for compatibility)."""
    L = keras.layers
    x = keras.Input((7,), name="features")
    h = L.Dense(6, kernel_regularizer=keras.regularizers.L1L2(l1=0.01, l2=0.02), bias_regularizer="l2",
                kernel_constraint=keras.constraints.MaxNorm(2.0), activity_regularizer=keras.regularizers.L1(0.001),
                kernel_initializer=keras.initializers.HeNormal(seed=3), bias_initializer=keras.initializers.Constant(0.1),
                name="reg_dense")(x)
    h = L.LayerNormalization(rms_scaling=True, epsilon=1e-5)(h)
    h = L.Dense(4, kernel_constraint=keras.constraints.UnitNorm(axis=0), bias_constraint="non_neg")(h)
    t = keras.Input((5,), dtype="int32", name="tokens")
    e = L.Embedding(9, 3, embeddings_regularizer="l2", embeddings_constraint=keras.constraints.MinMaxNorm(0.0, 1.0))(t)
    c = L.Conv1D(2, 2, padding="causal", strides=2, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.01))(e)
    return keras.Model([x, t], [h, L.Flatten()(c)], name="regularized")


def dict_io(keras):
    """A functional model with dict inputs and dict outputs (Keras 3 keeps their names)."""
    L = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    h = L.concatenate([L.Dense(5, activation="relu")(a), b])
    return keras.Model({"a": a, "b": b}, {"score": L.Dense(1, name="score")(h), "probs": L.Dense(3, activation="softmax",
                                                                                             name="probs")(h)},
                       name="dict_io")


def masks_more(keras):
    """Masks through Average, TimeDistributed(Dense), Bidirectional(return_sequences) merges, Dense on a
    masked sequence, GlobalMaxPooling1D of a masked sequence."""
    L = keras.layers
    t = keras.Input((6,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True)(t)
    d = L.TimeDistributed(L.Dense(4, activation="tanh"))(e)
    c = L.Average()([e, d])
    b = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave")(c)
    s = L.Dense(1)(b)
    l = L.LSTM(2)(L.Dense(3)(b))
    return keras.Model(t, [s, l, L.GlobalMaxPooling1D()(b)], name="masks_more")


def variable_length(keras):
    """Input(shape=(None, f)): Dense, GRU, LSTM and the global pools over a variable number of steps."""
    L = keras.layers
    x = keras.Input((None, 3))
    h = L.Dense(4, activation="relu")(x)
    g = L.GRU(3, return_sequences=True)(h)
    return keras.Model(x, [L.GlobalAveragePooling1D()(g), L.GlobalMaxPooling1D()(h), L.LSTM(2)(g)],
                       name="variable_length")


def ops_more(keras):
    """keras.ops calls recorded as operations (tile, repeat, flip, normalize, norm, argmax, log1p, expm1, log2,
    prod, pad, slicing) and Activation layers with Keras 3's newer activations."""
    L, o = keras.layers, keras.ops
    x = keras.Input((4,))
    h = L.Dense(4)(x)
    outs = [o.tile(h, (1, 2)), o.repeat(h, 3, axis=1), o.flip(h, 1), o.normalize(h),
            o.argmax(h, axis=-1), o.log1p(o.abs(h)), o.expm1(h * 0.1), o.log2(o.abs(h) + 1.0), o.prod(h, axis=1),
            o.pad(h, ((0, 0), (1, 2))), o.expand_dims(h, 1)[:, :, 1::2],
            h[:, ::-1] * 2.0]
    outs += [L.Activation(a)(h) for a in ("mish", "hard_tanh", "soft_shrink", "sparse_plus", "squareplus",
                                           "tanh_shrink", "log_sigmoid", "hard_silu", "celu")]
    return keras.Model(x, outs, name="ops_more")


def conv_lstm_file(keras):
    """ConvLSTM2D stacked (same + sequences, then strided valid going backwards), Conv1DTranspose, a Sequential
    built with build() (no InputLayer in its config)."""
    L = keras.layers
    x = keras.Input((3, 5, 5, 2))
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(x)
    h = L.ConvLSTM2D(2, 2, strides=2, go_backwards=True)(h)
    seq = keras.Sequential([L.Dense(4, activation="relu"), L.Dense(2)], name="built_seq")
    seq.build((None, 8))
    return keras.Model(x, [seq(L.Flatten()(h)), L.Conv1DTranspose(2, 3, strides=2)(L.Reshape((4, 2))(h))],
                       name="conv_lstm_file")


def regression_tutorial(keras):
    """The regression tutorial: Normalization adapted to the data, Dense layers; Normalization with given
    mean/variance on two kept axes, over everything (axis=None), and inverted."""
    L = keras.layers
    import numpy as np
    norm = L.Normalization(axis=-1)
    norm.adapt(np.random.default_rng(5).standard_normal((40, 5)).astype("float32") * 3.0 + 2.0)
    x = keras.Input((5,))
    y = L.Dense(1)(L.Dense(8, activation="relu")(norm(x)))
    z = keras.Input((3, 2))
    a = L.Normalization(axis=(1, 2), mean=np.arange(6.0).reshape(3, 2), variance=np.arange(1.0, 7.0).reshape(3, 2))(z)
    everything = L.Normalization(axis=None)
    everything.adapt(np.random.default_rng(6).standard_normal((10, 3, 2)).astype("float32") + 4.0)
    b = everything(z)
    c = L.Normalization(mean=[1.0, -1.0], variance=[4.0, 0.25], invert=True)(z)
    return keras.Model([x, z], [y, a, b, c], name="regression_tutorial")


def misc_more(keras):
    """TimeDistributed over a Sequential / Conv1D / LSTM, Reshape with -1 in the middle, Dense on 4-D,
    tensor operators, an Activation given a function object, Masking with another mask_value."""
    L = keras.layers
    x = keras.Input((3, 5, 4))
    a = L.TimeDistributed(keras.Sequential([L.Conv1D(2, 2, activation="relu"), L.Flatten(), L.Dense(3)]))(x)
    b = L.TimeDistributed(L.Conv1D(3, 3, padding="same"))(x)
    c = L.TimeDistributed(L.LSTM(2))(x)
    d = L.Dense(2)(x)
    e = L.Reshape((2, -1))(d)
    f = L.Activation(keras.activations.gelu)(-(e ** 2) + abs(e))
    s = keras.Input((5, 2))
    m = L.LSTM(3, return_sequences=True)(L.Masking(mask_value=-1.0)(s))
    g = L.GlobalMaxPooling1D()(m)
    return keras.Model([x, s], [a, b, c, f, g], name="misc_more")


MODELS = {
    "conv1d_variants": (conv1d_variants, [("normal", (13, 4))]),
    "conv2d_groups_cf": (conv2d_groups_cf, [("normal", (9, 8, 4))]),
    "conv3d_cf": (conv3d_cf, [("normal", (2, 6, 5, 7))]),
    "separable_depthwise": (separable_depthwise, [("normal", (11, 4)), ("normal", (9, 9, 3))]),
    "conv_transpose": (conv_transpose, [("normal", (5, 4, 3)), ("normal", (6, 2))]),
    "pad_crop_upsample": (pad_crop_upsample, [("normal", (6, 5, 3)), ("normal", (5, 2)),
                                              ("normal", (3, 4, 2, 2))]),
    "rnn_variants": (rnn_variants, [("normal", (6, 3))]),
    "rnn_initial_state": (rnn_initial_state, [("normal", (5, 3)), ("normal", (4,)), ("normal", (4,))]),
    "bidirectional_more": (bidirectional_more, [("normal", (5, 3))]),
    "rnn_cells_more": (rnn_cells_more, [("normal", (4, 3))]),
    "time_distributed": (time_distributed, [("normal", (3, 6, 6, 2)), ("normal", (5,))]),
    "merges": (merges, [("normal", (4, 3)), ("normal", (4, 3)), ("normal", (5,)), ("normal", (5,))]),
    "activation_layers": (activation_layers, [("normal", (5, 4, 3))]),
    "normalization": (normalization, [("normal", (4, 5, 3))]),
    "embedding_masking": (embedding_masking, [("tokens", (7,), 12), ("masked", (6, 3))]),
    "lambda_ops": (lambda_ops, [("normal", (6,))]),
    "inference_noise": (inference_noise, [("normal", (6, 4)), ("normal", (4, 4, 2))]),
    "multi_io_nested": (multi_io_nested, [("normal", (5,)), ("normal", (7,))]),
    "sequential_mixed": (sequential_mixed, [("normal", (10, 10, 3))]),
    "regularized": (regularized, [("normal", (7,)), ("tokens", (5,), 9)]),
    "dict_io": (dict_io, [("normal", (4,)), ("normal", (3,))]),
    "masks_more": (masks_more, [("tokens", (6,), 10)]),
    "variable_length": (variable_length, [("normal", (8, 3))]),
    "conv_lstm_file": (conv_lstm_file, [("normal", (3, 5, 5, 2))]),
    "regression_tutorial": (regression_tutorial, [("normal", (5,)), ("normal", (3, 2))]),
    "misc_more": (misc_more, [("normal", (3, 5, 4)), ("masked_neg", (5, 2))]),
    "ops_more": (ops_more, [("normal", (4,))]),
    "image_tutorial": (image_tutorial, [("pixels", (12, 12, 3))]),
    "resizing": (resizing, [("normal", (5, 6, 3))]),
}


def draw_inputs(name, batch, rng):
    """The inputs of model ``name`` at ``batch`` (float32 normals, int32 token ids with trailing
    padding, or normals with whole steps zeroed for Masking)."""
    import numpy as np
    xs = []
    for spec in MODELS[name][1]:
        kind, shape = spec[0], (batch,) + tuple(spec[1])
        if kind == "tokens":
            ids = rng.integers(1, spec[2], shape).astype("int32")
            for row in ids:
                row[rng.integers(1, shape[1] + 1):] = 0
            xs.append(ids)
        elif kind == "pixels":
            xs.append(rng.integers(0, 256, shape).astype("float32"))
        else:
            x = (rng.standard_normal(shape) * 1.5).astype("float32")
            if kind in ("masked", "masked_neg"):
                x[rng.random(shape[:2]) < 0.35] = 0.0 if kind == "masked" else -1.0
            xs.append(x)
    return xs


def random_weights(model, rng):
    """Non-trivial values for every weight in get_weights order: normals scaled by 1/sqrt(fan-in)
    (so deep stacks keep a useful range), positive moving variances, biases and BN offsets away
    from zero; Normalization's adapted mean/variance/count are kept (Keras only re-reads them when it
    adapts or loads, not on set_weights)."""
    import numpy as np
    out = []
    for w in model.weights:
        shape = tuple(w.shape)
        path = getattr(w, "path", w.name)
        if path.endswith(("/mean", "/variance", "/count")):  # Normalization's adapted statistics stay
            out.append(np.asarray(w.numpy() if hasattr(w, "numpy") else w))
            continue
        v = rng.standard_normal(shape)
        if "moving_variance" in path:
            v = np.abs(v) + 0.3
        elif len(shape) >= 2:
            v = v / np.sqrt(max(1, int(np.prod(shape[:-1]))) / 2.0)
        else:
            v = v * 0.5
        out.append(v.astype("float32"))
    return out


def as_list(y):
    """Outputs as a list (a dict of outputs in sorted key order)."""
    if isinstance(y, dict):
        return [y[k] for k in sorted(y)]
    return list(y) if isinstance(y, (list, tuple)) else [y]


def feed(model, xs):
    """Inputs as the model takes them: a dict for a model built on a dict of inputs."""
    try:
        structure = model.input
    except (AttributeError, ValueError):  # Keras: a Sequential that was never called has no `input`
        structure = None
    if isinstance(structure, dict):
        return dict(zip(structure.keys(), xs))
    return xs if len(xs) > 1 else xs[0]
