"""Every hyper-parameter of every registered model has plain-language help."""

from __future__ import annotations

from causalrec_core.models.param_help import MODEL_PARAM_HELP, PARAM_HELP, PARAM_LABELS, describe_param, param_label
from causalrec_core.models.registry import list_models


def test_every_parameter_of_every_model_is_described():
    missing = sorted({f"{m['name']}.{p}" for m in list_models() for p in m["params"] if p not in PARAM_HELP})
    assert not missing, f"no PARAM_HELP entry for: {missing}"


def test_every_parameter_has_a_readable_label_with_its_own_name():
    names = {p for m in list_models() for p in m["params"]}
    assert not sorted(names - set(PARAM_LABELS)), "no PARAM_LABELS entry"
    labels = [PARAM_LABELS[n] for n in names]
    assert len(set(labels)) == len(labels)  # two parameters never share a label
    assert param_label("dim") == "Vector size (dim)"
    assert param_label("no_such_parameter") == "no_such_parameter"


def test_help_is_one_plain_sentence():
    for key, text in {**PARAM_HELP, **MODEL_PARAM_HELP}.items():
        assert 30 <= len(text) <= 300, key
        assert text[0].isupper() or text[0] in "'\"", key
        assert text.endswith("."), key
        assert text.count(". ") == 0, f"{key}: more than one sentence"


def test_describe_param_model_specific_first_then_general_then_fallback():
    assert describe_param("epochs") == PARAM_HELP["epochs"]
    assert describe_param("clip", "uplift") == MODEL_PARAM_HELP["uplift.clip"]
    assert describe_param("clip", "mf-ips") == PARAM_HELP["clip"]
    assert "no description" in describe_param("no_such_parameter")
    for key in MODEL_PARAM_HELP:
        model, param = key.split(".", 1)
        assert param in PARAM_HELP  # overrides refine a general entry
