"""Model builders shared by real Keras (fixture generation) and graphc.keras (tests).

Every builder takes the keras module as its only argument and returns a built model,
using only the public Keras 3 API in the style of the tutorials, so that

    from tensorflow import keras      # or: import keras   (real Keras 3)
    from graphc import keras          # graphc's drop-in

can both run the exact same function. tools/make_keras_fixtures.py runs them with real
Keras (JAX backend) and writes the weights, inputs, outputs and model metadata to
tests/data/keras/<name>.npz / .json; the tests read only those files.

MODELS maps a name to (builder, input shapes without the batch axis): one tuple for a
single-input model, a list of tuples for a multi-input model. Shapes are concrete: where a
model declares a None axis (seq_dense), the entry says which length the fixtures use.

Layers are mostly left to take Keras's automatic names (dense, dense_1, ...); the fixture
script calls keras.backend.clear_session() before each build so the names start afresh.
"""

# -- tutorial models -----------------------------------------------------------------------


def churn_mlp(keras):
    """The bank-churn ANN tutorial: 11 features, two hidden layers of 6 (121 params).

    Uses the Keras 2 tutorial idiom `input_dim=` on the first layer; Keras 3 still accepts it
    (and builds the model) but emits a UserWarning recommending keras.Input instead.
    """
    return keras.Sequential(
        [
            keras.layers.Dense(6, activation="relu", input_dim=11),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def mnist_mlp(keras):
    """784-512-10 MLP on flattened MNIST (407,050 params)."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def mnist_mlp_dropout(keras):
    """The classic mnist_mlp.py example: 784-512-512-10 with Dropout(0.2) (669,706 params).

    Uses the `input_shape=` idiom on the first layer (accepted by Keras 3 with a UserWarning).
    """
    return keras.Sequential(
        [
            keras.layers.Dense(512, activation="relu", input_shape=(784,)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def mnist_cnn(keras):
    """The TensorFlow CNN tutorial adapted to MNIST (93,322 params)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def dense_bn(keras):
    """Dense -> BatchNormalization -> Activation("relu"): BN adds 4*64 params, 128 non-trainable."""
    return keras.Sequential(
        [
            keras.Input(shape=(20,)),
            keras.layers.Dense(64),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


# -- convolution and pooling ---------------------------------------------------------------


def conv_same(keras):
    """padding="same" at stride 1 keeps the spatial size (odd kernel) and even kernel (2x2)."""
    return keras.Sequential(
        [
            keras.Input(shape=(9, 9, 3)),
            keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu"),
            keras.layers.Conv2D(4, (2, 2), padding="same"),
        ]
    )


def conv_strides(keras):
    """strides=2 with valid padding, then with same padding (TF-style: extra pad at bottom/right)."""
    return keras.Sequential(
        [
            keras.Input(shape=(16, 16, 3)),
            keras.layers.Conv2D(8, (3, 3), strides=2, activation="relu"),
            keras.layers.Conv2D(6, (3, 3), strides=(2, 2), padding="same"),
            keras.layers.Conv2D(4, (2, 3), strides=(1, 2), padding="same"),
        ]
    )


def conv_dilation(keras):
    """dilation_rate=2 (effective 5x5 kernel), valid then same padding."""
    return keras.Sequential(
        [
            keras.Input(shape=(13, 13, 2)),
            keras.layers.Conv2D(4, (3, 3), dilation_rate=2, activation="tanh"),
            keras.layers.Conv2D(3, (3, 3), dilation_rate=(2, 2), padding="same"),
        ]
    )


def conv_bn(keras):
    """Conv2D(use_bias=False) -> BatchNormalization (channel axis -1) -> Activation("relu")."""
    return keras.Sequential(
        [
            keras.Input(shape=(10, 10, 3)),
            keras.layers.Conv2D(16, (3, 3), use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Conv2D(8, (3, 3), padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )


def avgpool_valid(keras):
    """AveragePooling2D((2, 2)) (stride defaults to the pool, valid) on an odd size (drops the
    edge). Unlike MaxPooling2D, Keras 3's AveragePooling2D has no default pool_size."""
    return keras.Sequential(
        [
            keras.Input(shape=(9, 9, 4)),
            keras.layers.AveragePooling2D((2, 2)),
            keras.layers.AveragePooling2D(pool_size=(2, 2), strides=1),
        ]
    )


def avgpool_same(keras):
    """AveragePooling2D with padding="same": padded cells are left out of the average."""
    return keras.Sequential(
        [
            keras.Input(shape=(9, 9, 4)),
            keras.layers.AveragePooling2D(pool_size=(3, 3), strides=(2, 2), padding="same"),
            keras.layers.AveragePooling2D(pool_size=2, padding="same"),
        ]
    )


def maxpool_same(keras):
    """The MaxPool2D alias with padding="same" (odd size 7 -> 4), a stride-1 same max pool,
    then MaxPooling2D() with all defaults (2x2, valid)."""
    return keras.Sequential(
        [
            keras.Input(shape=(7, 7, 3)),
            keras.layers.MaxPool2D(pool_size=(2, 2), padding="same"),
            keras.layers.MaxPooling2D(pool_size=(3, 3), strides=(1, 1), padding="same"),
            keras.layers.MaxPooling2D(),
        ]
    )


def global_pooling(keras):
    """GlobalAveragePooling2D and GlobalMaxPooling2D of the same features, concatenated."""
    inputs = keras.Input(shape=(6, 5, 3))
    x = keras.layers.Conv2D(8, (3, 3), activation="relu")(inputs)
    avg = keras.layers.GlobalAveragePooling2D()(x)
    mx = keras.layers.GlobalMaxPooling2D()(x)
    outputs = keras.layers.concatenate([avg, mx])
    return keras.Model(inputs, outputs)


def global_max_pooling(keras):
    """Sequential Conv2D -> GlobalMaxPooling2D -> Dense."""
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 2)),
            keras.layers.Conv2D(6, (3, 3), padding="same"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(3),
        ]
    )


def reshape_conv(keras):
    """A flat vector Reshape'd to an image, convolved, Flatten'ed, Reshape'd with -1."""
    return keras.Sequential(
        [
            keras.Input(shape=(48,)),
            keras.layers.Reshape((4, 4, 3)),
            keras.layers.Conv2D(5, (2, 2), activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Reshape((-1, 5)),
            keras.layers.Dense(2),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="sigmoid"),
        ]
    )


# -- activations ---------------------------------------------------------------------------

ACTIVATIONS = [
    "softmax",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "relu",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "exponential",
    "linear",
    "leaky_relu",
]


def _dense_activation(activation):
    def build(keras):
        return keras.Sequential(
            [keras.Input(shape=(16,)), keras.layers.Dense(8, activation=activation)]
        )

    build.__name__ = build.__qualname__ = f"dense_{activation}"
    build.__doc__ = f'Dense(8, activation="{activation}").'
    return build


def leaky_relu_layer(keras):
    """The LeakyReLU layer with its default negative_slope (0.3 in Keras 3; the
    "leaky_relu" activation function's default is 0.2)."""
    return keras.Sequential(
        [keras.Input(shape=(16,)), keras.layers.Dense(8), keras.layers.LeakyReLU()]
    )


def hard_sigmoid_layer(keras):
    """Activation("hard_sigmoid") as a layer (Keras 3: relu6(x + 3) / 6)."""
    return keras.Sequential(
        [keras.Input(shape=(16,)), keras.layers.Dense(8), keras.layers.Activation("hard_sigmoid")]
    )


# -- functional API ------------------------------------------------------------------------


def two_tower_functions(keras):
    """Two inputs through one shared Dense; merged with keras.layers.add/concatenate/multiply;
    two outputs."""
    left = keras.Input(shape=(16,), name="left")
    right = keras.Input(shape=(16,), name="right")
    shared = keras.layers.Dense(8, activation="relu", name="shared")
    a = shared(left)
    b = shared(right)
    summed = keras.layers.add([a, b])
    product = keras.layers.multiply([a, b])
    joined = keras.layers.concatenate([summed, product, left])
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(joined)
    probs = keras.layers.Dense(3, activation="softmax", name="probs")(summed)
    return keras.Model(inputs=[left, right], outputs=[score, probs])


def two_tower_classes(keras):
    """The same merges with the Add/Concatenate/Multiply classes, three-way merges, inputs
    of different widths and Concatenate on a non-last axis."""
    left = keras.Input(shape=(12,))
    right = keras.Input(shape=(6,))
    a = keras.layers.Dense(6, activation="tanh")(left)
    total = keras.layers.Add()([a, right, a])
    prod = keras.layers.Multiply()([a, right, total])
    rows = keras.layers.Concatenate(axis=1)(
        [keras.layers.Reshape((1, 6))(total), keras.layers.Reshape((1, 6))(prod)]
    )
    wide = keras.layers.Concatenate()([left, total, prod])
    out1 = keras.layers.Dense(2)(wide)
    out2 = keras.layers.Flatten()(rows)
    return keras.Model([left, right], [out1, out2])


def functional_branches(keras):
    """Branches of different depths: Keras orders model.layers (and so model.weights and
    get_weights()) by depth in the graph, not by creation order (dense_3 comes before dense_2)."""
    inputs = keras.Input(shape=(8,))
    deep = keras.layers.Dense(6, activation="relu")(inputs)
    deep = keras.layers.Dense(6, activation="relu")(deep)
    deep = keras.layers.Dense(6, activation="relu")(deep)
    shallow = keras.layers.Dense(5, activation="relu")(inputs)
    shallow = keras.layers.Dense(4)(shallow)
    merged = keras.layers.concatenate([deep, shallow])
    outputs = keras.layers.Dense(2)(merged)
    return keras.Model(inputs=inputs, outputs=outputs)


def seq_dense(keras):
    """Input(shape=(None, 16)): Dense acts on the last axis and keeps the 3-D shape."""
    inputs = keras.Input(shape=(None, 16))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(4)(x)
    return keras.Model(inputs, outputs)


# -- activation / core / merging layers (issue 4 item 5) ---------------------------------------


def activation_layers(keras):
    """ReLU with max_value/negative_slope/threshold, PReLU (random alpha), ELU(0.7), Softmax."""
    return keras.Sequential(
        [
            keras.Input(shape=(16,)),
            keras.layers.Dense(12),
            keras.layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
            keras.layers.Dense(10),
            keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(0.1, 0.5)),
            keras.layers.Dense(8),
            keras.layers.ELU(alpha=0.7),
            keras.layers.Dense(6),
            keras.layers.Softmax(),
        ]
    )


def layernorm_prelu(keras):
    """LayerNormalization (random gamma/beta) and a PReLU shared over the time axis."""
    inputs = keras.Input(shape=(5, 6))
    x = keras.layers.LayerNormalization()(inputs)
    x = keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(0.1, 0.5), shared_axes=[1])(x)
    x = keras.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5)(x)
    return keras.Model(inputs, x)


def sequence_layers(keras):
    """TimeDistributed(Dense), Permute, RepeatVector on a (5, 6) sequence."""
    return keras.Sequential(
        [
            keras.Input(shape=(5, 6)),
            keras.layers.TimeDistributed(keras.layers.Dense(4, activation="tanh")),
            keras.layers.Permute((2, 1)),
            keras.layers.TimeDistributed(keras.layers.Dense(3)),
            keras.layers.Flatten(),
            keras.layers.RepeatVector(2),
        ]
    )


def dot_attention(keras):
    """Dot-product attention with the Dot layer and keras.layers.dot (with normalize)."""
    query = keras.Input(shape=(4, 6))
    value = keras.Input(shape=(3, 6))
    scores = keras.layers.Dot(axes=2)([query, value])
    weights = keras.layers.Softmax()(scores)
    context = keras.layers.Dot(axes=(2, 1))([weights, value])
    q = keras.layers.Dense(5)(keras.layers.Flatten()(query))
    v = keras.layers.Dense(5)(keras.layers.Flatten()(value))
    cosine = keras.layers.dot([q, v], axes=1, normalize=True)
    joined = keras.layers.concatenate([keras.layers.Flatten()(context), cosine])
    return keras.Model([query, value], keras.layers.Dense(3)(joined))


# -- 1-D/3-D convolution, depthwise/separable convolution, pooling, padding, cropping, upsampling --


def conv1d_causal(keras):
    """Conv1D causal (dilated) and same/strided, MaxPooling1D() defaults, AveragePooling1D same,
    GlobalMaxPooling1D -> Dense."""
    return keras.Sequential(
        [
            keras.Input(shape=(16, 3)),
            keras.layers.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu"),
            keras.layers.Conv1D(5, 4, strides=2, padding="same"),
            keras.layers.MaxPooling1D(),
            keras.layers.AveragePooling1D(3, strides=1, padding="same"),
            keras.layers.Conv1D(4, 2, padding="causal"),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dense(2),
        ]
    )


def conv1d_channels_first(keras):
    """data_format="channels_first" through Conv1D, the MaxPool1D/AvgPool1D aliases and
    GlobalAvgPool1D(keepdims=True)."""
    cf = "channels_first"
    return keras.Sequential(
        [
            keras.Input(shape=(3, 12)),
            keras.layers.Conv1D(4, 3, data_format=cf, activation="tanh"),
            keras.layers.MaxPool1D(2, data_format=cf),
            keras.layers.AvgPool1D(2, strides=1, data_format=cf),
            keras.layers.Conv1D(6, 2, padding="causal", data_format=cf),
            keras.layers.GlobalAvgPool1D(data_format=cf, keepdims=True),
            keras.layers.Flatten(),
        ]
    )


def conv3d_pool(keras):
    """Conv3D same/valid, MaxPooling3D, AveragePooling3D same, ZeroPadding3D, Cropping3D,
    UpSampling3D, and both 3-D global pools concatenated."""
    inputs = keras.Input(shape=(6, 6, 6, 2))
    x = keras.layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling3D()(x)
    x = keras.layers.ZeroPadding3D(((1, 0), (0, 1), 1))(x)
    x = keras.layers.Conv3D(3, (2, 2, 3), strides=(1, 2, 1))(x)
    x = keras.layers.UpSampling3D((1, 2, 2))(x)
    x = keras.layers.Cropping3D(((0, 1), (1, 0), (0, 1)))(x)
    x = keras.layers.AveragePooling3D(2, strides=1, padding="same")(x)
    avg = keras.layers.GlobalAveragePooling3D()(x)
    mx = keras.layers.GlobalMaxPool3D()(x)
    return keras.Model(inputs, keras.layers.concatenate([avg, mx]))


def depthwise_separable(keras):
    """DepthwiseConv2D (depth_multiplier 2), SeparableConv2D same/strided with depth_multiplier,
    DepthwiseConv2D with dilation and no bias (the MobileNet/Xception building blocks)."""
    return keras.Sequential(
        [
            keras.Input(shape=(10, 10, 3)),
            keras.layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
            keras.layers.SeparableConv2D(8, 3, strides=2, padding="same", depth_multiplier=2),
            keras.layers.DepthwiseConv2D((2, 2), dilation_rate=2, padding="same", use_bias=False),
            keras.layers.SeparableConv2D(4, (2, 3), activation="tanh"),
            keras.layers.GlobalAveragePooling2D(),
        ]
    )


def separable_conv1d(keras):
    """SeparableConv1D (depth_multiplier 2, same), DepthwiseConv1D, SeparableConv1D strided."""
    return keras.Sequential(
        [
            keras.Input(shape=(12, 4)),
            keras.layers.SeparableConv1D(6, 3, padding="same", depth_multiplier=2, activation="relu"),
            keras.layers.DepthwiseConv1D(3, depth_multiplier=3),
            keras.layers.SeparableConv1D(5, 2, strides=2),
        ]
    )


def channels_first_2d(keras):
    """data_format="channels_first" on Conv2D, DepthwiseConv2D, SeparableConv2D, ZeroPadding2D,
    Cropping2D, UpSampling2D, MaxPooling2D and GlobalMaxPooling2D."""
    cf = "channels_first"
    return keras.Sequential(
        [
            keras.Input(shape=(3, 9, 8)),
            keras.layers.ZeroPadding2D((1, 2), data_format=cf),
            keras.layers.Conv2D(4, 3, data_format=cf, activation="relu"),
            keras.layers.DepthwiseConv2D(3, depth_multiplier=2, data_format=cf),
            keras.layers.Cropping2D(((1, 0), (0, 2)), data_format=cf),
            keras.layers.UpSampling2D((2, 1), data_format=cf),
            keras.layers.SeparableConv2D(5, 3, padding="same", data_format=cf),
            keras.layers.MaxPooling2D(data_format=cf),
            keras.layers.GlobalMaxPooling2D(data_format=cf),
        ]
    )


def pad_crop_upsample(keras):
    """ZeroPadding1D/2D (int, symmetric pairs, (before, after) pairs), Cropping1D/2D, UpSampling1D/2D."""
    seq = keras.Input(shape=(7, 3))
    s = keras.layers.ZeroPadding1D((2, 1))(seq)
    s = keras.layers.UpSampling1D(3)(s)
    s = keras.layers.Conv1D(4, 3)(s)
    s = keras.layers.Cropping1D((1, 2))(s)
    s = keras.layers.ZeroPadding1D()(s)
    img = keras.Input(shape=(6, 5, 2))
    x = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))(img)
    x = keras.layers.Conv2D(4, 3)(x)
    x = keras.layers.UpSampling2D()(x)
    x = keras.layers.Cropping2D(((1, 0), (2, 1)))(x)
    x = keras.layers.ZeroPadding2D(1)(x)
    x = keras.layers.UpSampling2D(size=(1, 2))(x)
    x = keras.layers.Cropping2D(2)(x)
    return keras.Model([seq, img], [s, x])


def unet_tiny(keras):
    """A tiny U-Net: conv, pool, conv, UpSampling2D, concatenate with the skip connection, conv."""
    inputs = keras.Input(shape=(8, 8, 2))
    c1 = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    p1 = keras.layers.MaxPooling2D()(c1)
    c2 = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu")(p1)
    u1 = keras.layers.UpSampling2D()(c2)
    m = keras.layers.concatenate([c1, u1])
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(m)
    return keras.Model(inputs, outputs)


def merge_layers(keras):
    """The Subtract/Average/Maximum/Minimum merge classes (two- and three-way) and their functional
    forms keras.layers.subtract/average/maximum/minimum."""
    a = keras.Input(shape=(6,))
    b = keras.Input(shape=(6,))
    x = keras.layers.Dense(5, activation="tanh")(a)
    y = keras.layers.Dense(5, activation="tanh")(b)
    diff = keras.layers.Subtract()([x, y])
    mean = keras.layers.Average()([x, y, diff])
    hi = keras.layers.Maximum()([x, y])
    lo = keras.layers.Minimum()([x, diff, y])
    mixed = keras.layers.subtract([keras.layers.maximum([hi, mean]), keras.layers.minimum([lo, mean])])
    both = keras.layers.average([mixed, diff])
    return keras.Model([a, b], keras.layers.concatenate([diff, mean, hi, lo, both]))


def embedding_classifier(keras):
    """Token ids -> Embedding(50, 8) -> GlobalAveragePooling1D -> Dense(3, softmax) (427 params).

    The input is int32; the fixture script draws its ids from [0, 50) (the smallest Embedding's input_dim).
    """
    inputs = keras.Input(shape=(6,), dtype="int32")
    x = keras.layers.Embedding(50, 8)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def conv_transpose_2d(keras):
    """Conv2DTranspose: same with stride 3 > kernel-ish and output_padding, same strided, dilated same without
    bias, valid with per-axis strides and output_padding (Keras's output sizes)."""
    return keras.Sequential(
        [
            keras.Input(shape=(3, 4, 2)),
            keras.layers.Conv2DTranspose(3, 4, strides=3, padding="same", output_padding=1),
            keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(2, 2, padding="same", dilation_rate=2, use_bias=False),
            keras.layers.Conv2DTranspose(3, (3, 2), strides=(2, 1), output_padding=(1, 0)),
        ]
    )


def conv_transpose_1d(keras):
    """Conv1DTranspose: same strided, valid with a kernel smaller than the stride (Keras pads the output to
    (n - 1) * s + max(k, s)), dilated valid, same with output_padding."""
    return keras.Sequential(
        [
            keras.Input(shape=(7, 3)),
            keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same"),
            keras.layers.Conv1DTranspose(2, 1, strides=2),
            keras.layers.Conv1DTranspose(3, 3, dilation_rate=2, activation="tanh"),
            keras.layers.Conv1DTranspose(2, 4, strides=3, padding="same", output_padding=2),
        ]
    )


def conv_transpose_3d(keras):
    """Conv3DTranspose same with per-axis strides, then valid with output_padding."""
    return keras.Sequential(
        [
            keras.Input(shape=(3, 3, 2, 2)),
            keras.layers.Conv3DTranspose(3, 2, strides=(2, 1, 2), padding="same"),
            keras.layers.Conv3DTranspose(2, (3, 2, 2), strides=2, output_padding=(1, 0, 1), activation="relu"),
        ]
    )


def conv_transpose_channels_first(keras):
    """data_format="channels_first" on Conv2DTranspose and Conv1DTranspose."""
    cf = "channels_first"
    img = keras.Input(shape=(2, 4, 5))
    x = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", data_format=cf)(img)
    x = keras.layers.Conv2DTranspose(2, (2, 3), strides=(1, 2), output_padding=(0, 1), data_format=cf)(x)
    seq = keras.Input(shape=(3, 6))
    s = keras.layers.Conv1DTranspose(2, 3, strides=2, padding="same", data_format=cf, activation="relu")(seq)
    return keras.Model([img, seq], [x, s])


def dcgan_generator(keras):
    """The DCGAN tutorial's generator shape: Dense -> Reshape -> Conv2DTranspose x2 (same, stride 2)."""
    return keras.Sequential(
        [
            keras.Input(shape=(8,)),
            keras.layers.Dense(4 * 4 * 8, use_bias=False),
            keras.layers.Reshape((4, 4, 8)),
            keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
        ]
    )


def ops_functional(keras):
    """keras.ops on KerasTensors in the functional API (operations, not layers: model.layers lists only the
    Dense and Activation layers) and KerasTensor operators (Lambda over keras.ops: tests/keras/test_ops_modes.py;
    a Python lambda does not load with load_model's default safe_mode)."""
    inputs = keras.Input(shape=(6,))
    x = keras.layers.Dense(8)(inputs)
    y = keras.ops.add(keras.ops.multiply(x, 0.5), 1.0)
    z = keras.ops.concatenate([keras.ops.relu(x), keras.ops.tanh(y)], axis=-1)
    s = keras.ops.softmax(z, axis=-1)
    m = keras.ops.mean(keras.ops.reshape(z, (-1, 4, 4)), axis=1)
    w = keras.layers.Activation("sigmoid")(m * 2.0 - keras.ops.square(m))
    out = keras.layers.Dense(3)(keras.ops.concatenate([s, w, x * x, -x / 4.0], axis=-1))
    return keras.Model(inputs, out)


def preprocessing_layers(keras):
    """Rescaling, Normalization (static statistics, and invert), Identity, UnitNormalization,
    SpatialDropout1D/2D/3D (identity at inference) and ActivityRegularization on three inputs."""
    L = keras.layers
    seq, img, vol = keras.Input((8, 4)), keras.Input((6, 6, 3)), keras.Input((4, 4, 4, 2))
    a = L.SpatialDropout1D(0.3)(L.Normalization(mean=[0.5, -1.0, 2.0, 0.0], variance=[1.0, 4.0, 0.25, 2.0])(seq))
    a = L.GlobalAveragePooling1D()(a)
    b = L.SpatialDropout2D(0.2)(L.Conv2D(4, 3)(L.Rescaling(1.0 / 255, offset=-0.5)(img)))
    b = L.UnitNormalization()(L.GlobalMaxPooling2D()(b))
    c = L.Identity()(L.SpatialDropout3D(0.1)(vol))
    c = L.Flatten()(L.Conv3D(2, 2)(c))
    x = L.ActivityRegularization(l1=0.01)(L.Dense(5)(L.Concatenate()([a, b, c])))
    return keras.Model([seq, img, vol], L.Normalization(mean=0.5, variance=4.0, invert=True)(x))


MODELS = {
    "churn_mlp": (churn_mlp, (11,)),
    "mnist_mlp": (mnist_mlp, (784,)),
    "mnist_mlp_dropout": (mnist_mlp_dropout, (784,)),
    "mnist_cnn": (mnist_cnn, (28, 28, 1)),
    "dense_bn": (dense_bn, (20,)),
    "conv_same": (conv_same, (9, 9, 3)),
    "conv_strides": (conv_strides, (16, 16, 3)),
    "conv_dilation": (conv_dilation, (13, 13, 2)),
    "conv_bn": (conv_bn, (10, 10, 3)),
    "avgpool_valid": (avgpool_valid, (9, 9, 4)),
    "avgpool_same": (avgpool_same, (9, 9, 4)),
    "maxpool_same": (maxpool_same, (7, 7, 3)),
    "global_pooling": (global_pooling, (6, 5, 3)),
    "global_max_pooling": (global_max_pooling, (8, 8, 2)),
    "reshape_conv": (reshape_conv, (48,)),
    **{f"dense_{a}": (_dense_activation(a), (16,)) for a in ACTIVATIONS},
    "leaky_relu_layer": (leaky_relu_layer, (16,)),
    "hard_sigmoid_layer": (hard_sigmoid_layer, (16,)),
    "two_tower_functions": (two_tower_functions, [(16,), (16,)]),
    "two_tower_classes": (two_tower_classes, [(12,), (6,)]),
    "functional_branches": (functional_branches, (8,)),
    "seq_dense": (seq_dense, (5, 16)),
    # the same model fed a different length along its None axis
    "seq_dense_len3": (seq_dense, (3, 16)),
    # activation / core / merging layers (issue 4 item 5)
    "activation_layers": (activation_layers, (16,)),
    "layernorm_prelu": (layernorm_prelu, (5, 6)),
    "sequence_layers": (sequence_layers, (5, 6)),
    "dot_attention": (dot_attention, [(4, 6), (3, 6)]),
    # 1-D/3-D convolution, depthwise/separable convolution, pooling, padding, cropping, upsampling
    "conv1d_causal": (conv1d_causal, (16, 3)),
    "conv1d_channels_first": (conv1d_channels_first, (3, 12)),
    "conv3d_pool": (conv3d_pool, (6, 6, 6, 2)),
    "depthwise_separable": (depthwise_separable, (10, 10, 3)),
    "separable_conv1d": (separable_conv1d, (12, 4)),
    "channels_first_2d": (channels_first_2d, (3, 9, 8)),
    "pad_crop_upsample": (pad_crop_upsample, [(7, 3), (6, 5, 2)]),
    "unet_tiny": (unet_tiny, (8, 8, 2)),
    "merge_layers": (merge_layers, [(6,), (6,)]),
    # embeddings (issue 4 item 4): an integer input
    "embedding_classifier": (embedding_classifier, (6,)),
    # transposed convolutions (issue 4 item 1)
    "conv_transpose_2d": (conv_transpose_2d, (3, 4, 2)),
    "conv_transpose_1d": (conv_transpose_1d, (7, 3)),
    "conv_transpose_3d": (conv_transpose_3d, (3, 3, 2, 2)),
    "conv_transpose_channels_first": (conv_transpose_channels_first, [(2, 4, 5), (3, 6)]),
    "dcgan_generator": (dcgan_generator, (8,)),
    # keras.ops nodes in the functional API (issue 4 item 5)
    "ops_functional": (ops_functional, (6,)),
    # preprocessing / identity / regularization layers of the tutorials
    "preprocessing_layers": (preprocessing_layers, [(8, 4), (6, 6, 3), (4, 4, 4, 2)]),
}

import keras_models_more  # noqa: E402  (regularization, preprocessing and normalization layers, stacked cells)
import keras_models_rnn  # noqa: E402  (recurrent layers, masking, ConvLSTM2D, stateful models)
from keras_models_rnn import (FIXTURE_INPUTS, RECURRENT_MODELS, RECURRENT_OPS, STATEFUL_MODELS,  # noqa: E402,F401
                              VARIABLE_LENGTH_MODELS, missing_recurrent_ops)

MODELS.update(keras_models_rnn.MODELS)
MODELS.update(keras_models_more.MODELS)
# models graphc cannot export to standard ONNX, with the reason
ONNX_EXPORT_SKIP = {**keras_models_rnn.ONNX_EXPORT_SKIP, **keras_models_more.ONNX_EXPORT_SKIP}
