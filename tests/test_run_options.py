"""RunOptions names each shared default once; the CLI, the API and sweep jobs read it from there."""

from __future__ import annotations

import inspect

import pytest

import socsim.api.functions as api
from socsim.base.errors import InputError
from socsim.cli import build_parser
from socsim.host.options import DEFAULTS, RunOptions
from socsim.sweep.spec import JobSpec


def test_the_command_line_takes_its_defaults_from_run_options():
    parser = build_parser()
    for argv in (["run", "p.s"], ["train", "g.toml"], ["infer", "g.toml"]):
        args = parser.parse_args(argv)
        assert args.engine == DEFAULTS.engine and args.timing_only is DEFAULTS.timing_only, argv
    assert parser.parse_args(["run", "p.s"]).config == DEFAULTS.config
    assert parser.parse_args(["sweep", "s.toml"]).engine is None  # the sweep file's [job] engine, else the default


def test_the_api_and_sweep_jobs_take_their_defaults_from_run_options():
    for fn in (api.run, api.train, api.infer):
        params = inspect.signature(fn).parameters
        for name in ("engine", "timing_only", "dataset", "seeds"):
            if name in params:
                assert params[name].default == getattr(DEFAULTS, name), (fn.__name__, name)
    assert inspect.signature(api.train).parameters["config"].default == DEFAULTS.config
    job = JobSpec("train")
    assert (job.dataset, job.engine, job.timing_only) == (DEFAULTS.dataset, DEFAULTS.engine, DEFAULTS.timing_only)


@pytest.mark.parametrize("field,value", [("engine", "turbo"), ("dataset", "imagenet"), ("timing_only", 1),
                                         ("seeds", 0)])
def test_a_bad_option_names_its_field(field, value):
    with pytest.raises(InputError) as info:
        RunOptions(**{field: value})
    assert info.value.field == field and str(info.value).startswith(f"{field}: ")
