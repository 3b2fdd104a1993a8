"""`write_json_list` streams a dataset row by row and writes the bytes `write_json` writes."""

from __future__ import annotations

import json

import pytest

from lrm_llava.jsonio import write_json, write_json_list


@pytest.mark.parametrize("rows", [
    [],
    [{"id": "1"}],
    [{"id": "s-zh-mvqa", "conversations": [{"from": "human", "value": "<image>\n图中的汽车是什么颜色？\n请用一个词回答。"},
                                           {"from": "gpt", "value": "红色"}], "lang": "zh", "n": [1, 2.5, None]},
     {"id": "s-en", "conversations": [{"from": "human", "value": "Quote \" and \\ and \u2028"}], "nested": {"a": {}}}],
])
def test_streamed_list_equals_one_shot_json(tmp_path, rows):
    write_json(tmp_path / "whole.json", rows, indent=None)
    write_json_list(tmp_path / "streamed.json", iter(rows))
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    assert json.loads((tmp_path / "streamed.json").read_text(encoding="utf-8")) == rows


def test_a_failed_stream_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("[1]\n", encoding="utf-8")

    def rows():
        yield {"ok": 1}
        raise OSError(28, "No space left on device")

    with pytest.raises(Exception, match="No space left"):
        write_json_list(path, rows())
    assert path.read_text(encoding="utf-8") == "[1]\n" and [p.name for p in tmp_path.iterdir()] == ["out.json"]
