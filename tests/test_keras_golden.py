"""actlab against the golden values of Keras 3.

Inputs, expected outputs and parameters are copied literally from Keras 3's
keras/src/ops/nn_test.py, class NNOpsCorrectnessTest (keras-team/keras, commit
71b30103274320bd56d8f9d81d8d1fba211c8639): test_relu, test_relu6, test_sigmoid,
test_sparse_sigmoid, test_softplus, test_softsign, test_silu, test_log_sigmoid,
test_leaky_relu, test_hard_sigmoid, test_hard_silu, test_elu, test_selu, test_gelu,
test_celu, test_glu, test_tanh_shrink, test_hard_tanh, test_hard_shrink, test_threshold,
test_squareplus, test_soft_shrink, test_sparse_plus, test_softmax, test_log_softmax,
test_sparsemax. They are an independent check: computed by Keras, not by actlab.

Where Keras' defaults differ from actlab's, the Keras value is passed explicitly:
leaky_relu negative_slope=0.2 (actlab's default slope is PyTorch's 0.01); Keras' gelu
defaults to approximate=True, which is actlab's gelu_tanh; hard_shrink/soft_shrink
threshold=0.5 is actlab's lambd. The tolerance is Keras' assertAllClose default,
atol = rtol = 1e-6, on float32 inputs as in Keras.
"""

import numpy as np
import pytest

import actlab

X5 = [-1, 0, 1, 2, 3]
XS = [-0.5, 0, 1, 2, 3]  # the shrink / squareplus / sparse tests
ROWS = [[1, 2, 3], [1, 2, 3]]

# (actlab name, actlab params, Keras test, input, axis, expected); axis=None means
# Keras' axis=None (reduce over all axes), done here by flattening.
ELEMENTWISE = [
    ("relu", {}, "test_relu", X5, [0, 0, 1, 2, 3]),
    ("relu6", {}, "test_relu6", [-1, 0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 1, 2, 3, 4, 5, 6, 6]),
    ("sigmoid", {}, "test_sigmoid", X5, [0.26894143, 0.5, 0.7310586, 0.880797, 0.95257413]),
    ("sparse_sigmoid", {}, "test_sparse_sigmoid", X5, [0.0, 0.5, 1.0, 1.0, 1.0]),
    ("softplus", {}, "test_softplus", X5, [0.31326166, 0.6931472, 1.3132616, 2.126928, 3.0485873]),
    ("softsign", {}, "test_softsign", X5, [-0.5, 0, 0.5, 0.6666667, 0.75]),
    ("silu", {}, "test_silu", X5, [-0.26894143, 0, 0.7310586, 1.7615942, 2.8577223]),
    ("log_sigmoid", {}, "test_log_sigmoid", X5, [-1.3132616, -0.6931472, -0.31326166, -0.126928, -0.04858732]),
    ("leaky_relu", {"slope": 0.2}, "test_leaky_relu", X5, [-0.2, 0, 1, 2, 3]),
    ("hard_sigmoid", {}, "test_hard_sigmoid", X5, [0.33333334, 0.5, 0.6666667, 0.8333334, 1.0]),
    ("hard_silu", {}, "test_hard_silu", [-3, -2, -1, 0, 1, 2, 3],
     [-0.0, -0.333333, -0.333333, 0.0, 0.6666667, 1.6666667, 3.0]),
    ("elu", {}, "test_elu", X5, [-0.63212055, 0, 1, 2, 3]),
    ("elu", {"alpha": 0.5}, "test_elu", X5, [-0.31606027, 0, 1, 2, 3]),
    ("selu", {}, "test_selu", X5, [-1.1113307, 0.0, 1.050701, 2.101402, 3.152103]),
    ("gelu_tanh", {}, "test_gelu", X5, [-0.15880796, 0.0, 0.841192, 1.9545977, 2.9963627]),
    ("celu", {}, "test_celu", X5, [-0.63212055, 0.0, 1.0, 2.0, 3.0]),
    ("tanh_shrink", {}, "test_tanh_shrink", X5, [-0.238406, 0.0, 0.238406, 1.035972, 2.004945]),
    ("hard_tanh", {}, "test_hard_tanh", X5, [-1.0, 0.0, 1.0, 1.0, 1.0]),
    ("hard_shrink", {"lambd": 0.5}, "test_hard_shrink", XS, [0.0, 0.0, 1.0, 2.0, 3.0]),
    ("threshold", {"threshold": 0.0, "value": 0.0}, "test_threshold", XS, [0.0, 0.0, 1.0, 2.0, 3.0]),
    ("squareplus", {}, "test_squareplus", XS, [0.780776, 1.0, 1.618034, 2.414214, 3.302776]),
    ("soft_shrink", {"lambd": 0.5}, "test_soft_shrink", XS, [0.0, 0.0, 0.5, 1.5, 2.5]),
    ("sparse_plus", {}, "test_sparse_plus", XS, [0.0625, 0.25, 1.0, 2.0, 3.0]),
]

VECTOR = [
    ("glu", "test_glu", [-1, 0, 1, 2, 3, 4], -1, [-0.8807971, 0.0, 0.98201376]),
    ("sparsemax", "test_sparsemax", XS, -1, [0.0, 0.0, 0.0, 0.0, 1.0]),
    ("softmax", "test_softmax", ROWS, None, [[0.045015, 0.122364, 0.33262], [0.045015, 0.122364, 0.33262]]),
    ("softmax", "test_softmax", ROWS, 0, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]),
    ("softmax", "test_softmax", ROWS, -1, [[0.09003057, 0.24472848, 0.66524094], [0.09003057, 0.24472848, 0.66524094]]),
    ("log_softmax", "test_log_softmax", ROWS, None,
     [[-3.100753, -2.100753, -1.100753], [-3.100753, -2.100753, -1.100753]]),
    ("log_softmax", "test_log_softmax", ROWS, 0,
     [[-0.693147, -0.693147, -0.693147], [-0.693147, -0.693147, -0.693147]]),
    ("log_softmax", "test_log_softmax", ROWS, -1,
     [[-2.407606, -1.407606, -0.407606], [-2.407606, -1.407606, -0.407606]]),
]

KERAS_TOL = {"atol": 1e-6, "rtol": 1e-6}


@pytest.mark.parametrize("name,params,keras_test,x,expected", ELEMENTWISE,
                         ids=[f"{c[2]}-{c[0]}{c[1] or ''}" for c in ELEMENTWISE])
def test_elementwise_matches_keras(name, params, keras_test, x, expected):
    x = np.array(x, dtype=np.float32)
    got = actlab.get(name, **params)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, **KERAS_TOL, err_msg=f"{name}{params} vs Keras {keras_test}")


@pytest.mark.parametrize("name,keras_test,x,axis,expected", VECTOR, ids=[f"{c[1]}-axis{c[3]}" for c in VECTOR])
def test_vector_matches_keras(name, keras_test, x, axis, expected):
    x = np.array(x, dtype=np.float32)
    act = actlab.get(name)
    if axis is None:
        got = act(x.ravel()).reshape(x.shape)
    else:
        got = act(x, axis=axis)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, **KERAS_TOL, err_msg=f"{name} axis={axis} vs Keras {keras_test}")


def test_default_softmax_axis_is_last_as_in_keras():
    x = np.array(ROWS, dtype=np.float32)
    for name in ("softmax", "log_softmax"):
        act = actlab.get(name)
        np.testing.assert_array_equal(act(x), act(x, axis=-1))
