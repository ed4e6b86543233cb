"""The config file: partial files on top of the embedded default, short validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from docroute._exceptions import ConfigError
from docroute.cli import app
from docroute.config import default_config, load_config

EMBEDDED = ["smollm2-135m", "gemma3-270m"]


def write(tmp_path: Path, text: str, name: str = "docroute.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "pydantic" not in message and "For further information" not in message
    return message


def test_an_empty_file_is_the_embedded_default(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    cfg = load_config(path)
    assert cfg.source == str(path)
    assert cfg.model_dump(exclude={"source"}) == default_config().model_dump(exclude={"source"})


def test_a_file_without_models_keeps_the_embedded_models(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[docs]\npython_style = "numpy"\n', "numpy.toml"))
    assert cfg.docs.python_style == "numpy"
    assert list(cfg.models) == EMBEDDED
    assert cfg.models == default_config().models
    assert cfg.routing == default_config().routing
    assert cfg.context == default_config().context

    cfg = load_config(write(tmp_path, '[routing]\npolicy = "complexity"\n'))
    assert cfg.routing.policy == "complexity"
    assert cfg.default_model_name() == "smollm2-135m"
    assert list(cfg.models) == EMBEDDED

    cfg = load_config(write(tmp_path, '[routing]\ndefault_model = "gemma3-270m"\n'))
    assert cfg.default_model_name() == "gemma3-270m"


def test_a_file_with_models_has_exactly_its_models(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[models.mine]\nbackend = "ollama"\nmodel = "qwen"\n'
                                      '[docs]\npython_style = "sphinx"\n'))
    assert list(cfg.models) == ["mine"]
    assert cfg.routing.default_model is None and cfg.default_model_name() == "mine"
    assert cfg.docs.python_style == "sphinx"


def test_default_model_is_checked_against_the_final_models(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\ndefault_model = "nope"\n')
    assert error_of(path) == (
        f"invalid config {path}: routing.default_model 'nope' is not a configured model "
        "(smollm2-135m, gemma3-270m)"
    )
    # Defining models drops the embedded ones: an embedded name is unknown then.
    path = write(tmp_path, '[models.mine]\nbackend = "ollama"\nmodel = "qwen"\n'
                           '[routing]\ndefault_model = "smollm2-135m"\n')
    assert "'smollm2-135m' is not a configured model (mine)" in error_of(path)


def test_an_unknown_key_is_one_line_with_the_known_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\npolcy = "x"\n')
    assert error_of(path) == (
        f"invalid config {path}: routing.polcy: unknown key "
        "(known: policy, default_model, max_chain, options)"
    )
    path = write(tmp_path, "[sever]\nport = 1\n")
    assert error_of(path).endswith(
        "sever: unknown key (known: models, routing, context, docs, monitor, server)")


def test_a_wrong_type_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[context]\nbuckets = "big"\n')
    assert error_of(path) == (
        f'invalid config {path}: context.buckets: expected a list of integers, got "big"')
    path = write(tmp_path, '[context]\nbuckets = [1024, "x"]\n')
    assert error_of(path).endswith('context.buckets[1]: expected an integer, got "x"')
    path = write(tmp_path, "[server]\nport = 99999\n")
    assert error_of(path).endswith(
        "server.port: should be less than or equal to 65535, got 99999")
    path = write(tmp_path, '[models.m]\nmodel = "x"\n')
    assert error_of(path).endswith("models.m.backend: missing (required)")


def test_several_errors_are_one_line_each(tmp_path: Path) -> None:
    path = write(tmp_path, '[docs]\npython_style = "numpi"\n[context]\nbuckets = "big"\n')
    assert error_of(path).splitlines() == [
        f"invalid config {path} (2 problems):",
        '  context.buckets: expected a list of integers, got "big"',
        '  docs.python_style: expected one of "google", "numpy", "sphinx", got "numpi"',
    ]


def test_cli_accepts_a_partial_config(tmp_path: Path) -> None:
    path = write(tmp_path, '[docs]\npython_style = "numpy"\n', "numpy.toml")
    result = CliRunner().invoke(app, ["models", "--json", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert EMBEDDED[0] in result.stdout and EMBEDDED[1] in result.stdout


def test_cli_reports_a_bad_key_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\npolcy = "x"\n')
    result = CliRunner().invoke(app, ["models", "--config", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"config error: invalid config {path}: routing.polcy: unknown key "
        "(known: policy, default_model, max_chain, options)"
    )


def test_serve_reports_an_invalid_port_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no docroute.toml here: the embedded default
    result = CliRunner().invoke(app, ["serve", "--port", "99999"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: invalid server settings: port: should be less than or equal to 65535, "
        "got 99999"
    )


def test_routing_and_model_options_get_one_line_errors_too(tmp_path: Path) -> None:
    """Options are validated when routing or a backend reads them: the same short lines."""
    from docroute.backends import create_backend
    from docroute.route import route_options

    cfg = load_config(write(tmp_path, "[routing.options]\ncascade_skip_at = 3\n"))
    with pytest.raises(ConfigError) as info:
        route_options(cfg)
    message = str(info.value)
    assert message.startswith("invalid [routing.options]: routing.options.cascade_skip_at:")
    assert "\n" not in message and "pydantic" not in message

    cfg = load_config(write(tmp_path, '[models.m]\nbackend = "openai"\nmodel = "x"\n'
                                      'urls = ["http://127.0.0.1:9"]\n'
                                      '[models.m.options]\nretries = "many"\n'))
    with pytest.raises(ConfigError) as info:
        create_backend("m", cfg.models["m"])
    message = str(info.value)
    assert message.startswith("invalid models.m.options (backend 'openai'): "
                              "models.m.options.retries:")
    assert "\n" not in message and "pydantic" not in message
