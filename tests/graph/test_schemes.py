"""Schemes: the published ones resolve with the paper's semantics; invalid ones fail clearly."""

import pytest

from tinybench.graph.schemes import SchemeError, get_scheme, load_scheme_file, published_schemes, resolve
from tinybench.models.zoo import load_model


@pytest.fixture(scope="module")
def mcunet():
    return load_model("mcunet-5fps", num_classes=10)


def test_fifteen_published_schemes_resolve():
    schemes = published_schemes()
    assert len(schemes) == 15
    for s in schemes:
        m = load_model(s.model, num_classes=10)
        r = resolve(s, m)
        n = len(m.convs)
        # the classifier is always fully updated, and n_bias_update more biases before it
        assert r.updates[n - 1].weight_channels == m.convs[-1].in_channels
        assert sorted(r.updates) == list(range(n - 1 - s.n_bias_update, n))
        for i, ratio in zip(s.manual_weight_idx, s.weight_update_ratio):
            assert r.weight_channels(i) == int(ratio * m.convs[i].in_channels + 0.5)


def test_first_k_channels_follow_round_ratio(mcunet):
    r = resolve(get_scheme("99kb", mcunet), mcunet)
    assert mcunet.convs[36].in_channels == 96 and r.weight_channels(36) == 12  # 1/8
    assert r.weight_channels(39) == 24  # 1/4 of 96


def test_builtin_schemes(mcunet):
    full = resolve(get_scheme("full", mcunet), mcunet)
    assert len(full.updates) == 43 and all(u.weight_channels for u in full.updates.values())
    bias = resolve(get_scheme("bias-only", mcunet), mcunet)
    assert len(bias.updates) == 43 and not any(u.weight_channels for u in bias.updates.values())
    last = resolve(get_scheme("last-3", mcunet), mcunet)
    assert sorted(last.updates) == [40, 41, 42] and all(u.weight_channels for u in last.updates.values())


@pytest.mark.parametrize("spec, message", [
    ("mbv2-w0.35:49kb", r"model: the scheme was written for 'mbv2-w0.35'"),
    ("last-0", r"k=0 outside the allowed range \[1, 43\]"),
    ("last-x", "last-K needs an integer"),
    ("nope", "unknown scheme 'nope'"),
])
def test_bad_scheme_names(mcunet, spec, message):
    with pytest.raises(SchemeError, match=message):
        resolve(get_scheme(spec, mcunet), mcunet)


def write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return str(p)


def test_toml_scheme(tmp_path, mcunet):
    path = write(tmp_path, 'name = "mine"\nn_bias_update = 5\nmanual_weight_idx = [38, 41]\n'
                           'weight_update_ratio = ["1/2", 0.25]\n')
    r = resolve(get_scheme(path, mcunet), mcunet)
    assert r.weight_channels(38) == mcunet.convs[38].in_channels // 2
    assert r.weight_channels(41) == mcunet.convs[41].in_channels // 4
    assert r.earliest == 37


@pytest.mark.parametrize("text, message", [
    ("n_bias_update = 50", r"n_bias_update=50 outside the allowed range \[0, 42\]"),
    ("n_bias_update = 5\nmanual_weight_idx = [60]\nweight_update_ratio = [1]", r"layer 60 outside the allowed range \[0, 41\]"),
    ("n_bias_update = 5\nmanual_weight_idx = [30]\nweight_update_ratio = [1]", r"layer 30 lies outside the bias window \[37, 41\]"),
    ("n_bias_update = 5\nmanual_weight_idx = [40]\nweight_update_ratio = [1.5]", r"weight_update_ratio for layer 40 is 1.5; allowed range \[0, 1\]"),
    ("n_bias_update = 5\nmanual_weight_idx = [40, 41]\nweight_update_ratio = [1]", "weight_update_ratio has 1 entries"),
    ("n_bias_update = 5\nn_weight_update = 9", r"n_weight_update=9 outside the allowed range \[0, n_bias_update=5\]"),
    ("n_bias_update = 5\nclassifier = \"some\"", "classifier='some'; allowed: full, bias, none"),
    ("n_bias_update = 5\nbogus = 1", r"unknown field\(s\) \['bogus'\]"),
    ("manual_weight_idx = [1]", "missing field 'n_bias_update'"),
    ("n_bias_update = 'x'", "n_bias_update must be an integer"),
    ("n_bias_update = 5\nweight_update_ratio = ['1/0']", "weight_update_ratio"),
    ("n_bias_update = ", "not valid TOML"),
    ("n_bias_update = 5\nmanual_weight_idx = 45", "manual_weight_idx must be a list, got 45"),
    ("n_bias_update = 5\nmanual_weight_idx = [40, true]", r"manual_weight_idx\[1\] must be an integer, got True"),
    ("n_bias_update = 5\nmanual_weight_idx = [40]\nweight_update_ratio = \"1/2\"",
     "weight_update_ratio must be a list, got '1/2'"),
    ("n_bias_update = 5\nmanual_weight_idx = [40]\nweight_update_ratio = [\"1e400\"]",
     r"weight_update_ratio\[0\]: expected a number or a fraction such as \"1/8\", got '1e400'"),
    ("n_bias_update = 5\nmanual_weight_idx = [40]\nweight_update_ratio = [true]",
     r"weight_update_ratio\[0\]: expected a number .* got True"),
    ("n_bias_update = 5\nname = 3", "name must be a non-empty string, got 3"),
    ("n_bias_update = 5\nclassifier = ['full']", r"classifier must be a non-empty string"),
    ("n_bias_update = 5\nmanual_weight_idx = " + "[" * 5000 + "]" * 5000, "not valid TOML|must be"),
])
def test_bad_toml_schemes(tmp_path, mcunet, text, message):
    with pytest.raises(SchemeError, match=message):
        resolve(load_scheme_file(write(tmp_path, text)), mcunet)


def test_errors_found_while_resolving_name_the_file(tmp_path, mcunet):
    path = write(tmp_path, 'name = "mine"\nn_bias_update = 50')
    with pytest.raises(SchemeError, match=rf"^{path}: scheme 'mine' on model 'mcunet-5fps': n_bias_update=50"):
        resolve(get_scheme(path, mcunet), mcunet)


def test_a_file_that_is_not_utf8_is_named(tmp_path, mcunet):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\nn_bias_update = 5\n'.encode("latin-1"))
    with pytest.raises(SchemeError, match=rf"^{path}: not UTF-8 text \(byte 11"):
        get_scheme(str(path), mcunet)


def test_a_huge_file_is_refused_unread(tmp_path, mcunet):
    path = tmp_path / "huge.toml"
    path.write_bytes(b"n_bias_update = 5\n" + b"#" * (2 << 20))
    with pytest.raises(SchemeError, match=r"huge\.toml: larger than 1,048,576 bytes"):
        get_scheme(str(path), mcunet)


@pytest.mark.parametrize("spec", ["x" * 5000, "a\0b", ""])
def test_odd_scheme_names_are_unknown_schemes(mcunet, spec):
    with pytest.raises(SchemeError, match="unknown scheme") as err:
        get_scheme(spec, mcunet)
    assert len(str(err.value)) < 600
