from core.summary import accuracy_story, training_story

BASE = {"best_epoch": 12, "kept_epoch": 12, "epochs_run": 17, "stopped_early": True, "stop_requested": False}


def test_early_stop_story_names_best_and_stopping_epochs():
    text = training_story(BASE, early_stopping=True, patience=5)
    assert text == ("Validation loss stopped improving after epoch 12; training stopped at epoch 17 "
                    "(after 5 more epochs without improvement) and kept epoch 12.")


def test_stories_for_stop_request_no_early_stopping_and_full_runs():
    stopped = training_story({**BASE, "stopped_early": False, "stop_requested": True, "epochs_run": 9, "kept_epoch": 7}, True, 5)
    assert stopped.startswith("You stopped training after epoch 9") and "epoch 7" in stopped
    off = training_story({**BASE, "stopped_early": False, "epochs_run": 50, "kept_epoch": 50}, False, 5)
    assert "Early stopping was off" in off and "all 50 epochs" in off and "epoch 12" in off
    full = training_story({**BASE, "stopped_early": False, "epochs_run": 20}, True, 5)
    assert full == "Training ran all 20 epochs; validation loss was lowest at epoch 12, so the model keeps epoch 12."
    improving = training_story({**BASE, "stopped_early": False, "best_epoch": 20, "kept_epoch": 20, "epochs_run": 20}, True, 5)
    assert "still improving" in improving


def test_accuracy_story_counts_right_and_wrong():
    text = accuracy_story({"sizes": {"test": 150}, "n_misclassified": 15, "test_accuracy": 0.9})
    assert "150 test samples" in text and "90.0%" in text and "135 right, 15 wrong" in text


def test_durations_in_words():
    from core.summary import duration_words

    assert [duration_words(s) for s in (4.2, 89, 600, 10388)] == ["4 s", "89 s", "10 min", "2 h 53 min"]
