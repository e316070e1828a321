"""Train page: rating data (a biased train, a randomised test, optionally a small randomised sample)
uploaded as files and kept in the project folder by :func:`causalrec_core.train.rating_files.stage_rating_files`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from causalrec_core.train.rating_files import StagedRatings, stage_rating_files
from ui.common import md, user_errors
from ui.state import sticky

FORMATS = {"csv": "user,item,rating CSV files", "matrix": "dense rating matrices (Coat's train.ascii / test.ascii)"}
MAR_CHOICES = {"none": "none (propensities from user activity and item popularity)",
               "fraction": "carve a share of the randomised test", "file": "a file of its own"}


@st.cache_resource(show_spinner="Reading the rating files…", max_entries=8)
def _stage(folder: str, files: tuple, fmt: str, threshold: float, mar_fraction: float | None) -> StagedRatings:
    return stage_rating_files(folder, {role: (name, content) for role, name, content in files}, fmt=fmt,
                              threshold=threshold, mar_fraction=mar_fraction)


def rating_data_picker(store: Any, project_id: int, *, key: str = "train_ratings") -> StagedRatings | None:
    """Widgets for uploading rating files; the staged data (spec + summary), or None until they read."""
    fmt = st.radio("File format", list(FORMATS), format_func=FORMATS.get, **sticky(f"{key}_format"), horizontal=True,
                   help="CSV: one rating per row, user,item,rating (header optional, ids any text). Matrices: "
                        "whitespace-separated users × items, 0 = not rated, as the Coat data set ships.")
    ext = ["csv", "txt"] if fmt == "csv" else ["ascii", "txt"]
    c1, c2 = st.columns(2)
    with c1:
        train = st.file_uploader("Training ratings (biased: users chose what to rate)", type=ext,
                                 key=f"{key}_train_{fmt}",
                                 help="The models learn from these; the causal ones reweight them to correct for "
                                      "users rating mostly what they like.")
    with c2:
        test = st.file_uploader("Test ratings (randomised: items assigned at random)", type=ext,
                                key=f"{key}_test_{fmt}",
                                help="Used only to evaluate the trained models; early stopping uses a seeded 10% "
                                     "slice of the training ratings.")
    c3, c4 = st.columns(2)
    threshold = float(c3.number_input(
        "Positive when rating >", step=0.5, format="%g", **sticky(f"{key}_threshold", value=3.0),
        help="3 makes 4–5 stars positive (the usual protocol); 2.5 makes 3–5 stars positive, the labelling "
             "of the public code behind the published Coat figures."))
    mar_choices = [c for c in MAR_CHOICES if fmt == "csv" or c != "file"]
    mar = c4.selectbox("Randomised sample for the propensities", mar_choices, format_func=MAR_CHOICES.get,
                       **sticky(f"{key}_mar_{fmt}"),
                       help="With a small sample of ratings on randomly chosen items, the debiased models "
                            "estimate P(rated | rating) by naive Bayes; without one, from user activity and item "
                            "popularity. A share carved from the test is removed from the test.")
    mar_fraction = None
    mar_file = None
    if mar == "fraction":
        share = c4.slider("Share of the test carved for the propensities", min_value=1, max_value=50, step=1,
                          format="%d%%", **sticky(f"{key}_mar_share", value=5),
                          help="A seeded random share of the test ratings estimates the propensities and is left out "
                               "of the test metrics.")
        mar_fraction = share / 100
    elif mar == "file":
        with c4:
            mar_file = st.file_uploader("Randomised sample (user,item,rating)", type=ext, key=f"{key}_mar_file",
                                        help="Ratings of randomly chosen items, like the test file; used only to "
                                             "estimate the propensities.")
    extra = {}
    if fmt == "matrix":
        with st.expander("Optional one-hot user / item features (as Coat's user_item_features/)"):
            f1, f2 = st.columns(2)
            with f1:
                extra["user_features"] = st.file_uploader("user_features.ascii", type=ext, key=f"{key}_uf")
            with f2:
                extra["item_features"] = st.file_uploader("item_features.ascii", type=ext, key=f"{key}_if")
    # uploads are not kept by Streamlit across visits to other pages: the last ones read are, per project
    memo = f"{key}_files_{project_id}"
    if train is not None and test is not None:
        uploads = {"train": train, "test": test, "mar": mar_file, **extra}
        files = tuple(sorted((role, up.name, up.getvalue()) for role, up in uploads.items() if up is not None))
        st.session_state[memo] = {"fmt": fmt, "files": files}
    elif (st.session_state.get(memo) or {}).get("fmt") == fmt:
        files = tuple(f for f in st.session_state[memo]["files"] if f[0] != "mar" or mar == "file")
        if mar_file is not None:
            files = tuple(sorted([f for f in files if f[0] != "mar"] + [("mar", mar_file.name, mar_file.getvalue())]))
        by_role = {role: name for role, name, _ in files}
        names = " + ".join(by_role[r] for r in ("train", "test", "mar") if r in by_role)
        st.caption(md(f"Using the files uploaded earlier in this session: {names}. Upload others to replace them."))
        if st.button("Forget these files", key=f"{key}_forget"):
            st.session_state.pop(memo, None)
            st.rerun()
    else:
        st.info("Upload the training and the test ratings to train on them.")
        return None
    if mar == "file" and not any(role == "mar" for role, _, _ in files):
        st.info("Upload the randomised sample, or choose another source for the propensities.")
        return None
    staged = None
    with user_errors("Reading the rating files"):
        staged = _stage(str(store.project_dir(project_id) / "ratings"), files, fmt, threshold, mar_fraction)
    if staged is None:
        return None
    s = staged.summary
    mar_text = ""
    if s["n_mar_sample"]:
        mar_text = (f", {s['n_mar_sample']:,} in the randomised sample (carved from the test)" if mar_fraction is not None
                    else f", {s['n_mar_sample']:,} in the randomised sample file")
    cold = f"; {s['cold_users']} test users and {s['cold_items']} test items have no training rating" \
        if s["cold_users"] or s["cold_items"] else ""
    st.caption(md(f"{s['n_users']:,} users × {s['n_items']:,} items: {s['n_train']:,} training and "
                  f"{s['n_test']:,} test ratings{mar_text}. Positive: {s['positive']} "
                  f"({s['positive_share_train']:.1%} of the training and {s['positive_share_test']:.1%} of the test "
                  f"ratings){cold}. A seeded 10% of the training ratings is the validation slice."))
    return staged
