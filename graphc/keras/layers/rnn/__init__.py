"""Recurrent layers: SimpleRNN, LSTM, GRU, their cells, keras.layers.RNN(cell), Bidirectional
and ConvLSTM2D."""
from .bidirectional import Bidirectional
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .conv_lstm2d import ConvLSTM2D
from .layers import GRU, LSTM, SimpleRNN
from .rnn import RNN
from .stacked_cells import StackedRNNCells

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "Bidirectional", "ConvLSTM2D",
           "StackedRNNCells"]
