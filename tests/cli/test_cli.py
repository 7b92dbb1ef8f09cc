"""The command line: numbers as JSON, clear errors with exit status 2."""

import json

import pytest

from tinybench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_json_has_the_contract_keys(capsys):
    code, out, _ = run(capsys, "estimate", "--model", "mcunet-5fps", "--scheme", "mcunet-5fps:99kb", "--json")
    assert code == 0
    d = json.loads(out)
    for key in ("model", "scheme", "schedule", "arena_bytes", "trainable_sram_bytes", "peak_sram_bytes",
                "flash_bytes", "breakdown", "peak_op"):
        assert key in d
    assert d["peak_sram_bytes"] == d["arena_bytes"] + d["trainable_sram_bytes"]
    assert set(d["breakdown"]) == {"activations", "saved activations", "masks", "gradients", "scratch"}
    assert d["schedule"] == "reordered" and d["scheme"] == "mcunet-5fps:99kb"


def test_estimate_table(capsys):
    code, out, _ = run(capsys, "estimate", "--model", "proxyless-w0.3", "--scheme", "last-2", "--schedule",
                       "unfused", "--planner", "first-fit")
    assert code == 0 and "peak SRAM (arena + trainable)" in out and "first-fit" in out


def test_paper_puts_each_published_scheme_next_to_the_papers_figure(capsys):
    code, out, _ = run(capsys, "paper", "--json")
    assert code == 0
    d = json.loads(out)
    rows = {r["scheme"]: r for r in d["schemes"]}
    assert len(rows) == 15 and len(d["full"]) == 3 and d["planning_s"] > 0
    published = {s: r["paper_reordered_kb"] for s, r in rows.items() if r["paper_reordered_kb"]}
    assert published == {"mcunet-5fps:49kb": 134, "mcunet-5fps:74kb": 160, "mcunet-5fps:99kb": 173,
                         "mbv2-w0.35:99kb": 141, "proxyless-w0.3:98kb": 135}
    for r in rows.values():
        assert r["reordered_floor_bytes"] <= r["reordered_arena_bytes"]
        assert r["reordered_peak_bytes"] == r["reordered_arena_bytes"] + r["trainable_sram_bytes"]
        assert r["reordered_peak_bytes"] <= r["unfused_peak_bytes"]


def test_models_json(capsys):
    code, out, _ = run(capsys, "models", "--json")
    models = {m["model"]: m for m in json.loads(out)["models"]}
    assert code == 0 and models["mbv2-w0.35"]["convs"] == 52


@pytest.mark.parametrize("argv, message", [
    (["estimate", "--model", "resnet", "--scheme", "full"], "unknown model 'resnet'"),
    (["estimate", "--model", "mcunet-5fps", "--scheme", "12kb"], "unknown scheme '12kb'"),
    (["estimate", "--model", "mcunet-5fps", "--scheme", "last-99"], r"k=99 outside the allowed range"),
])
def test_errors_exit_2_with_a_clear_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("tinybench estimate: error:")
    import re
    assert re.search(message, err)


def test_every_subcommand_has_help(capsys):
    from tinybench.cli import COMMANDS
    for name in COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        assert "usage: tinybench" in capsys.readouterr().out


def test_train_reports_before_and_after(capsys):
    code, out, _ = run(capsys, "train", "--model", "proxyless-w0.3", "--scheme", "49kb", "--steps", "2",
                       "--eval-samples", "3", "--json")
    d = json.loads(out)
    assert code == 0 and d["steps"] == 2 and d["qas"] is True
    assert 0 <= d["after"]["accuracy"] <= 1 and d["before"]["loss"] > 0
