"""Plain-language help for every hyper-parameter of the recommenders (shown next to the widgets).

:data:`PARAM_HELP` maps a parameter name to one sentence saying what it does and what changing it
does; :data:`MODEL_PARAM_HELP` holds the few meanings that differ between models (key
``"<model>.<param>"``). :func:`describe_param` looks a name up, model-specific first. :data:`PARAM_LABELS` gives each a
short readable name for a widget label; :func:`param_label` adds the parameter's own name (the one
the CLI's ``--param NAME=VALUE``, the run's configuration and result.json use).
"""

from __future__ import annotations

__all__ = ["MODEL_PARAM_HELP", "PARAM_HELP", "PARAM_LABELS", "describe_param", "param_label"]

PARAM_HELP: dict[str, str] = {
    # shared by every model
    "random_state": "Seed of every random choice in training (initial weights, batch order, sampling): the same "
                    "seed on the CPU gives identical results; change it to see how much results vary.",
    "device": "Where a PyTorch model trains: 'auto' uses a CUDA GPU when one is present and the CPU otherwise; "
              "'cpu' or 'cuda' force one (a GPU is much faster for the larger neural models).",
    # training loop of the PyTorch models
    "epochs": "Maximum number of passes over the training data: more epochs can fit better but take longer and "
              "may overfit (early stopping keeps the best epoch anyway).",
    "batch_size": "Examples per optimisation step: larger batches make each epoch faster and the loss smoother, "
                  "smaller ones give more (noisier) updates per epoch.",
    "patience": "Early stopping: training stops after this many epochs without a better validation score, and the "
                "best epoch's weights are kept; larger values train longer.",
    "lr": "Learning rate of the optimiser: larger values learn faster but can make training unstable, smaller ones "
          "are steadier but need more epochs.",
    "weight_decay": "L2 penalty on the weights: larger values shrink the weights more, which fights overfitting "
                    "but can underfit; 0 turns it off.",
    # matrix factorisation
    "dim": "Size of the learned user and item vectors: larger vectors can capture finer tastes but need more data "
           "and time, and overfit more easily.",
    "bias": "Adds a learned bias per user and per item (such as a generally popular item) to the dot product of their "
            "vectors; usually helps.",
    "use_features": "Also feeds the users' and items' side features (one-hot categories) into the vectors and "
                    "biases, which helps users and items with few interactions.",
    "objective": "What the factorisation fits: 'implicit' predicts whether a rating is positive (above the "
                 "threshold), 'explicit' predicts the rating value itself.",
    "propensity": "How the probability that a rating was observed is estimated for the debiasing weights: "
                  "'logged' uses the logged one, 'popularity' or 'naive-bayes' estimate it, 'auto' picks the best "
                  "available.",
    "clip": "Propensities are clipped to this range before they are inverted: a higher lower bound caps the "
            "largest weights (less variance, a little more bias).",
    "sample_ratio": "Unobserved user-item pairs sampled per observed one for the imputed-error part of the doubly "
                    "robust loss: more pairs cover the missing ratings better but slow training.",
    "imputation_weight_decay": "L2 penalty of the imputation model of doubly robust learning; empty uses the same "
                               "value as weight_decay.",
    # non-neural baselines
    "half_life_days": "Time decay of popularity: a positive this many days older than the newest one counts "
                      "half; empty counts every positive the same, smaller values favour recent trends.",
    "neighbours": "How many most-similar items each item keeps: more neighbours use more (weaker) evidence, fewer "
                  "keep only the strongest similarities.",
    "shrinkage": "Damps the similarity of items that share few users: larger values trust only item pairs with "
                 "many common users, 0 turns the damping off.",
    # sequential models
    "max_len": "How many of a user's most recent items the sequence model reads: longer histories give more "
               "context but cost more memory and time.",
    "hidden": "Width of the network's hidden layers: wider layers can model more complex patterns but train more "
              "slowly and overfit more easily.",
    "n_layers": "Number of transformer layers stacked: more layers model longer-range patterns in the sequence but "
                "train more slowly.",
    "n_heads": "Attention heads per transformer layer (must divide the hidden size): more heads attend to several "
               "past items in different ways at once.",
    "dropout": "Share of activations randomly zeroed in training: more dropout fights overfitting on small data, "
               "too much makes the model underfit.",
    "clip_min": "Smallest propensity allowed before inverting it: raising it caps the largest inverse-propensity "
                "weights (less variance, a little more bias).",
    "eta": "Strength of the popularity-based propensity used where none is logged (propensity grows as "
           "popularity^eta): 0 means no popularity bias, larger values correct it more.",
    "propensity_features": "Covariates the exposure model learns the propensities from when propensity is "
                           "'graph' (normally the causal graph's adjustment set of exposure -> purchase, such as "
                           "user_activity, item_popularity): required when propensity is 'graph', ignored otherwise.",
    # uplift
    "valid_share": "Share of the logged exposures held out to validate the outcome model (early stopping): larger "
                   "shares check it better but leave less to learn from.",
    # text-aware
    "id_dropout": "Share of training steps on which an item's own id vector is dropped so the model must rely on "
                  "its title text and catalogue attributes: higher values make cold items (no interactions) "
                  "score better.",
    "use_text": "Adds a projection of each item's title embedding (MiniLM) to its vector, so items without "
                "interactions still get meaningful scores; off (with use_item_features off too) makes it a plain "
                "factorisation.",
    "use_item_features": "Adds a learned mapping of each item's catalogue attributes (its category and the "
                         "numeric columns of the items table, such as price or a catalogue popularity) to its "
                         "vector and bias, so new items are also scored by what the catalogue says about them.",
    "text_weight_decay": "L2 penalty on the title-text part only: larger values keep the text from memorising the "
                         "trained items (which adds noise to new items' scores), too large ignores the text; "
                         "0 turns it off.",
    "text_batch_size": "Titles encoded at once by the text model: larger batches encode faster but use more "
                       "memory; it does not change the results.",
    "cache_dir": "Folder where the title embeddings are cached between runs (empty: no cache); caching only "
                 "saves time, it does not change the results.",
}

_EXPOSURE_PROPENSITY = ("Source of the probability that the logging recommender showed the item: 'logged' (the "
                        "log's propensity column), 'graph' (learned from propensity_features), 'popularity' "
                        "(estimated from popularity) or 'auto' (logged where present, else estimated); unbiased "
                        "only if it captures why items were shown.")

MODEL_PARAM_HELP: dict[str, str] = {
    "sasrec-ips.propensity": _EXPOSURE_PROPENSITY,
    "uplift.propensity": _EXPOSURE_PROPENSITY,
    "uplift.clip": "Propensities of exposure are clipped to [clip, 1 - clip] before they are inverted: a larger "
                   "value caps the largest weights (less variance, a little more bias).",
    "uplift.dim": "Size of the learned user and item vectors of the outcome model: larger vectors capture finer "
                  "differences in the effect of showing an item, but need more data.",
    "uplift.hidden": "Width of the outcome network's hidden layer: wider layers can model more complex effects "
                     "but train more slowly and overfit more easily.",
}

_FALLBACK = "A parameter of this model (no description yet); its default is the recommended value."


def describe_param(name: str, model: str | None = None) -> str:
    """The help sentence of parameter ``name`` (of ``model`` where its meaning is model-specific)."""
    if model is not None:
        specific = MODEL_PARAM_HELP.get(f"{model}.{name}")
        if specific:
            return specific
    return PARAM_HELP.get(str(name), _FALLBACK)


#: short readable names (widget labels); the parameter's own name follows in brackets
PARAM_LABELS: dict[str, str] = {
    "epochs": "Max epochs", "batch_size": "Batch size", "patience": "Early-stopping patience",
    "lr": "Learning rate", "weight_decay": "Weight decay (L2)", "dim": "Vector size",
    "bias": "User and item biases", "use_features": "Use side features", "objective": "Objective",
    "propensity": "Propensity source", "propensity_features": "Propensity features",
    "clip": "Propensity clip range (low, high)", "clip_min": "Smallest propensity kept",
    "eta": "Popularity-bias strength", "sample_ratio": "Unobserved pairs per observed one",
    "imputation_weight_decay": "Imputation model weight decay", "hidden": "Hidden width",
    "n_layers": "Transformer layers", "n_heads": "Attention heads", "max_len": "History length",
    "dropout": "Dropout", "neighbours": "Neighbours per item", "shrinkage": "Similarity shrinkage",
    "half_life_days": "Popularity half-life (days)", "use_text": "Use item text",
    "use_item_features": "Use item attributes", "text_weight_decay": "Text map weight decay",
    "text_batch_size": "Text encoder batch size", "id_dropout": "Item-id dropout",
    "cache_dir": "Embedding cache folder", "valid_share": "Validation share",
    "random_state": "Seed", "device": "Device",
}


def param_label(name: str) -> str:
    """A widget label: the readable name with the parameter's own name, e.g. 'Vector size (dim)'."""
    label = PARAM_LABELS.get(str(name))
    return f"{label} ({name})" if label else str(name)
