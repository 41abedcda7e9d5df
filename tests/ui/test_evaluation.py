from ui.evaluation import ARTICLES, DATASET, run_sample_eval


def test_sample_files_are_found_from_the_module():
    assert DATASET.is_file() and any(ARTICLES.glob("*.txt"))


def test_sample_eval_gives_the_markdown_report_and_its_plots(tmp_path):
    text, plots = run_sample_eval(tmp_path / "report", limit=3)
    assert text.lstrip().startswith("#") and "questions" in text.lower()
    assert "![" not in text  # the plots are shown as images beside the report
    assert [p.name for p in plots] == ["scores.png", "by_type.png", "recall_at_k.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots)
