"""The language of the command line: `--lang` (anywhere), the config file, the locale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect import i18n
from fbsdetect.cli.main import main


def test_help_in_chinese_with_lang_before_or_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--lang", "zh", "report", "--help"], ["report", "--lang=zh", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "用法：" in out and "报告的月份" in out and "通用选项" in out and "显示此帮助信息并退出" in out
    assert i18n.current() == "en"  # main() leaves the process's language as it was


def test_argparse_errors_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--lang", "zh", "report"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "错误" in err and "缺少以下必需参数" in err and len(err.strip().splitlines()) == 1


def test_unknown_language_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "fr", "report", "--help"]) == 2
    err = capsys.readouterr().err
    assert "unknown language 'fr'" in err and len(err.strip().splitlines()) == 1


def test_our_errors_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "report", "--month", "March", "-o", str(tmp_path),
                 "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "不是 YYYY-MM 格式" in capsys.readouterr().err


def _run(env_extra: dict[str, str], *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "FBSDETECT_LANG"))}
    env.update({"XDG_CONFIG_HOME": str(home), **env_extra})
    return subprocess.run([sys.executable, "-m", "fbsdetect", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_locale_and_config_file(tmp_path: Path) -> None:
    p = _run({"LANG": "zh_CN.UTF-8"}, "handover", "--help", home=tmp_path)
    assert p.returncode == 0 and "接收方" in p.stdout
    p = _run({"LANG": "C.UTF-8"}, "handover", "--help", home=tmp_path)
    assert p.returncode == 0 and "who received it" in p.stdout
    (tmp_path / "fbsdetect").mkdir()
    (tmp_path / "fbsdetect" / "config.toml").write_text('lang = "zh"\n')
    p = _run({}, "handover", "--help", home=tmp_path)
    assert "接收方" in p.stdout
    p = _run({"LANG": "zh_CN.UTF-8"}, "--lang", "en", "handover", "--help", home=tmp_path)
    assert "who received it" in p.stdout
