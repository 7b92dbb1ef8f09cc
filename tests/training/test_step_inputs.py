"""The public host API checks what it is given: an image of another layout, dtype or size, or
a label outside the classes, is an InputError, never wrong logits or a write out of bounds."""

import numpy as np
import pytest

from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels.executor import TrainingStep
from tinybench.models.builder import ModelSpecError, build_model
from tinybench.models.ir import InputError
from tinybench.plan.memory import plan_memory


@pytest.fixture(scope="module")
def step():
    model = build_model("conv:8:3:2 block:2:8:3:1 classifier:4", (12, 12, 3))
    return TrainingStep(plan_memory(compile_training(model, resolve(get_scheme("last-2", model), model))))


@pytest.mark.parametrize("image, message", [
    (np.zeros((3, 12, 12), np.int8), r"image: shape \(3, 12, 12\), expected \(12, 12, 3\) \(channels first"),
    (np.zeros((12, 12, 3), np.uint8), "image: dtype uint8, expected int8"),
    (np.zeros((12, 12, 3), np.float32), "image: dtype float32, expected int8"),
    (np.zeros(12 * 12 * 3, np.int8), r"image: shape \(432,\), expected \(12, 12, 3\)"),
    ([[0] * 3] * 144, "image: expected an int8 numpy array"),
])
def test_forward_refuses_an_image_that_does_not_fit(step, image, message):
    with pytest.raises(InputError, match=message):
        step.forward(image)


@pytest.mark.parametrize("label", [4, -1, 2.0, True])
def test_step_refuses_a_label_outside_the_classes(step, label):
    with pytest.raises(InputError, match=r"label: .* is not a class of the model \(an integer in \[0, 3\]\)"):
        step.step(np.zeros((12, 12, 3), np.int8), label)


def test_forward_accepts_the_model_input(step):
    assert step.forward(np.zeros((12, 12, 3), np.int8)).shape == (4,)


@pytest.mark.parametrize("shape", [(100_000, 100_000, 3), (16, 16, 0), (16, 16), (16.0, 16, 3)])
def test_builder_refuses_an_input_no_mcu_model_has(shape):
    with pytest.raises(ModelSpecError, match="input shape"):
        build_model("conv:8:3:2 classifier:4", shape)
