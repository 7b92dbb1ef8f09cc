"""How large a model tinybench accepts, and the range of its scales.

Every limit is far beyond any microcontroller model (the shipped ones: a 1 MB stream of
8,500 pickle opcodes, 61 convolutions, 128x128 inputs, 0.65 MB of parameters, 1 MB of
activations, scales from 4e-9 to 0.17), and small enough that a hostile or mistaken file
fails with a named error before tinybench allocates gigabytes for it: the reader checks
sizes as they are declared, before inflating, unpickling or copying.
"""

from __future__ import annotations

#: Size of a model file on disk, and of the pickle stream it inflates to.
MAX_FILE_BYTES = 64 << 20
MAX_PICKLE_BYTES = 64 << 20
#: Pickle opcodes in the stream: each can create one Python object (a list is ~60 B).
MAX_PICKLE_OPCODES = 250_000
#: Nesting of containers in the unpickled dict (the paper's layout uses 5 levels).
MAX_NESTING = 32
#: Convolutions of a model (MobileNetV2: 52, ResNet-152: 155).
MAX_CONVS = 1000
#: Height and width of the model input (MCU models use 48 to 176).
MAX_INPUT_SIZE = 256
#: Channels of one tensor.
MAX_CHANNELS = 1 << 16
#: int8 weights + int32 biases of the whole model (MCU flash: at most 2 MB).
MAX_PARAMETER_BYTES = 32 << 20
#: int8 activations of the forward graph, all tensors together.
MAX_ACTIVATION_BYTES = 64 << 20
#: Range of every quantization scale: all factors derived from them (requantization,
#: input gradients, SGD steps with QAS) stay finite in float64.
MIN_SCALE = 2.0**-64
MAX_SCALE = 2.0**32


class SizeTally:
    """Running totals of a model being read or built, checked layer by layer before the
    layer's arrays are copied or created."""

    def __init__(self) -> None:
        self.parameter_bytes = 0
        self.activation_bytes = 0

    def add(self, parameter_bytes: int, activation_bytes: int) -> str | None:
        """Count one layer; return the problem if the model now exceeds a limit, else None."""
        self.parameter_bytes += parameter_bytes
        self.activation_bytes += activation_bytes
        if self.parameter_bytes > MAX_PARAMETER_BYTES:
            return (f"the model's parameters reach {self.parameter_bytes:,} bytes here, more than the "
                    f"{MAX_PARAMETER_BYTES:,} tinybench accepts")
        if self.activation_bytes > MAX_ACTIVATION_BYTES:
            return (f"the model's activations reach {self.activation_bytes:,} bytes here, more than the "
                    f"{MAX_ACTIVATION_BYTES:,} tinybench accepts")
        return None
