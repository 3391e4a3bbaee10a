"""Recurrent model builders for the every-model tests, in the style of tests/keras_models.py (which
merges MODELS, ONNX_EXPORT_SKIP and re-exports the rest): LSTM/GRU/SimpleRNN stacks and options,
states, cells, Bidirectional, variable lengths, masking, ConvLSTM2D and stateful models. Every
builder takes the keras module (real Keras 3 or graphc.keras) as its only argument."""

import numpy as np

# -- recurrent layers and masking (issue 4 items 3 and 4) ----------------------------------------


def lstm_stack(keras):
    """The time-series tutorial stack: LSTM(return_sequences) -> LSTM -> Dense (Keras 3 defaults:
    unit_forget_bias, tanh / sigmoid)."""
    return keras.Sequential([keras.Input((6, 4)), keras.layers.LSTM(5, return_sequences=True),
                             keras.layers.LSTM(3), keras.layers.Dense(2)])


def gru_configs(keras):
    """GRU reset_after=True going backwards (returns the reversed sequence), GRU reset_after=False with
    relu / hard_sigmoid, SimpleRNN without bias."""
    return keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.GRU(4, return_sequences=True, go_backwards=True),
        keras.layers.GRU(3, return_sequences=True, reset_after=False, activation="relu",
                         recurrent_activation="hard_sigmoid"),
        keras.layers.SimpleRNN(2, use_bias=False, activation="softsign"),
    ])


def lstm_options(keras):
    """LSTM without bias / unit_forget_bias=False / go_backwards with return_sequences, and a linear
    activation with hard_sigmoid gates."""
    return keras.Sequential([
        keras.Input((4, 3)),
        keras.layers.LSTM(3, return_sequences=True, use_bias=False),
        keras.layers.LSTM(4, return_sequences=True, unit_forget_bias=False, go_backwards=True),
        keras.layers.LSTM(2, activation="linear", recurrent_activation="hard_sigmoid"),
    ])


def rnn_states(keras):
    """return_state on each layer, and initial_state (a list of tensors) from other inputs."""
    x = keras.Input((5, 3))
    h0, c0 = keras.Input((4,)), keras.Input((4,))
    seq, h, c = keras.layers.LSTM(4, return_sequences=True, return_state=True)(x, initial_state=[h0, c0])
    g_out, g_h = keras.layers.GRU(4, return_state=True)(seq, initial_state=[h])
    s_out, s_h = keras.layers.SimpleRNN(4, return_state=True, go_backwards=True)(x, initial_state=c)
    return keras.Model([x, h0, c0], [g_out, g_h, s_out, keras.layers.add([h, c, s_h])])


def rnn_cells(keras):
    """keras.layers.RNN(cell) with LSTMCell / GRUCell / SimpleRNNCell."""
    return keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.RNN(keras.layers.LSTMCell(4), return_sequences=True),
        keras.layers.RNN(keras.layers.GRUCell(3), return_sequences=True, go_backwards=True),
        keras.layers.RNN(keras.layers.SimpleRNNCell(2)),
    ])


def bidirectional_modes(keras):
    """Bidirectional with merge_mode concat / sum / ave / mul / None and a backward_layer."""
    x = keras.Input((5, 3))
    a = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(x)
    b = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), merge_mode="sum")(a)
    c = keras.layers.Bidirectional(keras.layers.SimpleRNN(2), merge_mode="ave")(b)
    d = keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="mul")(a)
    e1, e2 = keras.layers.Bidirectional(keras.layers.GRU(2), merge_mode=None)(x)
    f = keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.GRU(2, go_backwards=True))(x)
    return keras.Model(x, keras.layers.concatenate([c, d, e1, e2, f]))


def rnn_variable_length(keras):
    """Input(shape=(None, 3)): a variable number of timesteps (the fixtures use two lengths)."""
    return keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True),
                             keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True)),
                             keras.layers.SimpleRNN(3)])


def embedding_mask_rnn(keras):
    """Embedding(mask_zero=True) -> LSTM(return_sequences) -> GRU -> Dense: padded steps are skipped
    (the fixture inputs are zero-padded token ids)."""
    inputs = keras.Input((7,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    x = keras.layers.LSTM(3, return_sequences=True)(x)
    x = keras.layers.GRU(3, go_backwards=True)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def embedding_mask_bidirectional(keras):
    """Embedding(mask_zero=True) -> Bidirectional(LSTM, return_sequences) -> SimpleRNN(return_sequences)
    -> GlobalAveragePooling1D (mean over unmasked steps) -> Dense."""
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(15, 4, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(x)
    x = keras.layers.SimpleRNN(2, return_sequences=True)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def masking_rnn(keras):
    """Masking(mask_value=0.0) -> GRU(return_sequences, go_backwards) -> LSTM: steps whose features
    are all 0 are skipped (the fixture inputs have such steps anywhere in the sequence)."""
    return keras.Sequential([keras.Input((6, 3)), keras.layers.Masking(mask_value=0.0),
                             keras.layers.GRU(3, return_sequences=True, go_backwards=True),
                             keras.layers.LSTM(2)])


def _padded_tokens(rng, batch, shape, vocab):
    """Token ids in [1, vocab) with a random number of trailing zeros (padding) per row."""
    x = rng.integers(1, vocab, (batch, *shape))
    lengths = rng.integers(1, shape[-1] + 1, batch)
    x[np.arange(shape[-1])[None, :] >= lengths[:, None]] = 0
    return x.astype(np.int32)


def _masked_steps(rng, batch, shape, vocab):
    """Normal features with about a third of the steps set to exactly 0 (the mask value)."""
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    x[rng.random((batch, shape[0])) < 0.35] = 0.0
    return x


def conv_lstm(keras):
    """ConvLSTM2D (same padding, sequences) -> ConvLSTM2D (strided, valid, going backwards) -> Dense."""
    return keras.Sequential([
        keras.Input((4, 6, 6, 2)),
        keras.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
        keras.layers.ConvLSTM2D(2, (2, 2), strides=2, go_backwards=True, unit_forget_bias=False),
        keras.layers.Flatten(),
        keras.layers.Dense(2),
    ])



def conv_lstm_variants(keras):
    """ConvLSTM2D options on the graphc.ConvLSTM op: strided 'same' going backwards with relu/hard_sigmoid,
    then a dilated bias-free layer returning its states, merged."""
    inp = keras.Input((3, 7, 6, 2))
    a = keras.layers.ConvLSTM2D(2, (3, 2), strides=(2, 1), padding="same", return_sequences=True, go_backwards=True,
                                activation="relu", recurrent_activation="hard_sigmoid")(inp)
    b, h, c = keras.layers.ConvLSTM2D(3, 2, dilation_rate=(1, 2), return_state=True, use_bias=False)(a)
    out = keras.layers.Flatten()(keras.layers.Concatenate()([b, h, c]))
    return keras.Model(inp, keras.layers.Dense(2)(out))


def conv_lstm_channels_first(keras):
    """ConvLSTM2D on channels_first sequences (batch, time, channels, rows, cols)."""
    return keras.Sequential([
        keras.Input((3, 2, 5, 5)),
        keras.layers.ConvLSTM2D(2, 3, padding="same", data_format="channels_first", return_sequences=True),
        keras.layers.ConvLSTM2D(2, 2, data_format="channels_first"),
        keras.layers.Flatten(),
        keras.layers.Dense(3),
    ])

# how the fixture script draws a model's inputs when random ids / normals would not exercise it:
# name -> fn(rng, batch, shape, vocab) -> array (one input)
FIXTURE_INPUTS = {"embedding_mask_rnn": _padded_tokens, "embedding_mask_bidirectional": _padded_tokens,
                  "masking_rnn": _masked_steps}

# models graphc cannot export to standard ONNX, with the reason
ONNX_EXPORT_SKIP = {
    "embedding_mask_rnn": "masked recurrent layers lower to graphc.LSTM/graphc.GRU (ONNX has no step mask)",
    "embedding_mask_bidirectional": "masked recurrent layers lower to graphc.LSTM/graphc.RNN (ONNX has no step mask)",
    "masking_rnn": "masked recurrent layers lower to graphc.GRU/graphc.LSTM (ONNX has no step mask)",
    "conv_lstm": "ConvLSTM2D lowers to the graphc.ConvLSTM op (ONNX has no convolutional recurrent op)",
    "conv_lstm_variants": "ConvLSTM2D lowers to the graphc.ConvLSTM op (ONNX has no convolutional recurrent op)",
    "conv_lstm_channels_first": "ConvLSTM2D lowers to the graphc.ConvLSTM op (ONNX has no convolutional recurrent op)",
}


# Recurrent models lower to ONNX's RNN/LSTM/GRU ops; without them (before the ops land in the
# registry) graphc runs the cells step by step, which needs a static number of timesteps and
# cannot be exported to standard ONNX.
RECURRENT_OPS = ("RNN", "LSTM", "GRU")
RECURRENT_MODELS = {"lstm_stack", "gru_configs", "lstm_options", "rnn_states", "rnn_cells", "bidirectional_modes",
                    "rnn_variable_length", "rnn_variable_length_len2", "rnn_variable_length_len1",
                    "embedding_mask_rnn", "embedding_mask_bidirectional", "masking_rnn"}
VARIABLE_LENGTH_MODELS = {"rnn_variable_length", "rnn_variable_length_len2", "rnn_variable_length_len1"}


def missing_recurrent_ops(name, exporting=False):
    """The recurrent ops model ``name`` needs that graphc's registry lacks (empty when it can run)."""
    from graphc.ops import registry
    needed = name in RECURRENT_MODELS if exporting else name in VARIABLE_LENGTH_MODELS
    return [op for op in RECURRENT_OPS if needed and not registry.has(op)]


def stateful_lstm(keras):
    """stateful=True with a fixed batch size (batch_shape on Input): the states carry over between
    predict calls until reset_states()."""
    return keras.Sequential([keras.Input(batch_shape=(3, 4, 2)),
                             keras.layers.LSTM(3, stateful=True, return_sequences=True),
                             keras.layers.GRU(2, stateful=True), keras.layers.Dense(1)])


def stateful_bidirectional(keras):
    """A stateful Bidirectional(SimpleRNN) with a fixed batch size."""
    inputs = keras.Input(batch_shape=(2, 3, 2))
    x = keras.layers.Bidirectional(keras.layers.SimpleRNN(3, stateful=True))(inputs)
    return keras.Model(inputs, x)


# stateful models: fixtures record a sequence of calls (see tools/make_keras_fixtures.py)
STATEFUL_MODELS = {"stateful_lstm": stateful_lstm, "stateful_bidirectional": stateful_bidirectional}

# recurrent layers and masking (issue 4 items 3 and 4)
MODELS = {
    "lstm_stack": (lstm_stack, (6, 4)),
    "gru_configs": (gru_configs, (5, 3)),
    "lstm_options": (lstm_options, (4, 3)),
    "rnn_states": (rnn_states, [(5, 3), (4,), (4,)]),
    "rnn_cells": (rnn_cells, (5, 3)),
    "bidirectional_modes": (bidirectional_modes, (5, 3)),
    "rnn_variable_length": (rnn_variable_length, (5, 3)),
    "rnn_variable_length_len2": (rnn_variable_length, (2, 3)),
    "rnn_variable_length_len1": (rnn_variable_length, (1, 3)),
    "embedding_mask_rnn": (embedding_mask_rnn, (7,)),
    "embedding_mask_bidirectional": (embedding_mask_bidirectional, (6,)),
    "masking_rnn": (masking_rnn, (6, 3)),
    "conv_lstm": (conv_lstm, (4, 6, 6, 2)),
    "conv_lstm_variants": (conv_lstm_variants, (3, 7, 6, 2)),
    "conv_lstm_channels_first": (conv_lstm_channels_first, (3, 2, 5, 5)),
}
