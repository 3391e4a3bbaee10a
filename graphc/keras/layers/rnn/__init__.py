"""Recurrent layers: SimpleRNN, LSTM, GRU, their cells, keras.layers.RNN(cell) and Bidirectional."""
from .bidirectional import Bidirectional
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .layers import GRU, LSTM, SimpleRNN
from .rnn import RNN

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "Bidirectional"]
