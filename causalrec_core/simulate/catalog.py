"""The product catalogue vocabulary: category names, median prices and title words.

A title is ``"<adjective> <modifier> <noun>"`` with all three words drawn from the item's own
category, e.g. ``"Comfortable blue running shoes"`` or ``"Gripping paperback thriller"``, so a
text encoder can relate a title to its category. No word list contains a comma or a quote.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CATEGORY_NAMES", "CATEGORIES", "Category"]


class Category(NamedTuple):
    name: str
    median_price: float
    adjectives: tuple[str, ...]
    modifiers: tuple[str, ...]
    nouns: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "shoes", 60.0,
        ("comfortable", "lightweight", "waterproof", "breathable", "classic", "cushioned"),
        ("blue", "black", "white", "red", "grey", "brown", "leather", "suede"),
        ("running shoes", "sneakers", "hiking boots", "sandals", "loafers", "ankle boots",
         "trail shoes", "slippers"),
    ),
    Category(
        "books", 15.0,
        ("gripping", "award-winning", "classic", "inspiring", "witty", "bestselling"),
        ("paperback", "hardcover", "illustrated", "pocket", "large print", "signed"),
        ("novel", "cookbook", "biography", "history book", "poetry collection", "travel guide",
         "thriller", "fantasy saga"),
    ),
    Category(
        "electronics", 80.0,
        ("fast", "rechargeable", "compact", "smart", "durable", "high-performance"),
        ("black", "silver", "portable", "wireless", "bluetooth", "usb-c"),
        ("headphones", "speaker", "phone charger", "smartwatch", "tablet", "power bank",
         "webcam", "keyboard"),
    ),
    Category(
        "kitchen", 35.0,
        ("professional", "durable", "easy-clean", "family-size", "dishwasher-safe", "sleek"),
        ("stainless steel", "ceramic", "non-stick", "bamboo", "cast iron", "glass"),
        ("frying pan", "chef knife", "coffee maker", "cutting board", "mixing bowl set",
         "kettle", "blender", "saucepan"),
    ),
    Category(
        "toys", 25.0,
        ("fun", "colourful", "classic", "creative", "educational", "safe"),
        ("wooden", "plush", "magnetic", "remote control", "kids", "glow-in-the-dark"),
        ("building blocks", "jigsaw puzzle", "teddy bear", "toy car", "board game",
         "doll house", "kite", "train set"),
    ),
    Category(
        "beauty", 18.0,
        ("gentle", "luxury", "daily", "soothing", "nourishing", "refreshing"),
        ("organic", "vegan", "fragrance-free", "hydrating", "anti-ageing", "herbal"),
        ("face cream", "shampoo", "lipstick", "perfume", "nail polish", "body lotion",
         "face mask", "conditioner"),
    ),
    Category(
        "sports", 40.0,
        ("durable", "lightweight", "adjustable", "professional", "non-slip", "sweat-resistant"),
        ("training", "outdoor", "fitness", "gym", "yoga", "cycling"),
        ("yoga mat", "dumbbell set", "tennis racket", "football", "cycling helmet",
         "resistance bands", "water bottle", "jump rope"),
    ),
    Category(
        "garden", 30.0,
        ("sturdy", "practical", "weatherproof", "heavy-duty", "ergonomic", "eco-friendly"),
        ("green", "terracotta", "steel", "outdoor", "solar", "expandable"),
        ("garden hose", "flower pot", "pruning shears", "lawn mower", "seed kit",
         "watering can", "bird feeder", "garden lights"),
    ),
    Category(
        "clothing", 35.0,
        ("cosy", "slim-fit", "casual", "warm", "elegant", "soft"),
        ("navy", "black", "white", "olive", "beige", "cotton", "wool", "denim"),
        ("t-shirt", "hoodie", "jeans", "winter jacket", "sweater", "summer dress",
         "rain coat", "scarf"),
    ),
    Category(
        "music", 50.0,
        ("classic", "professional", "handcrafted", "vintage", "beginner-friendly", "studio"),
        ("acoustic", "electric", "digital", "wooden", "portable", "concert"),
        ("guitar", "vinyl record", "piano keyboard", "drum sticks", "ukulele",
         "guitar strings", "microphone", "violin"),
    ),
    Category(
        "pets", 20.0,
        ("cosy", "durable", "washable", "chew-proof", "healthy", "premium"),
        ("dog", "cat", "puppy", "kitten", "bird", "small pet"),
        ("bed", "toy", "food bowl", "leash", "scratching post", "treats", "grooming brush",
         "carrier"),
    ),
    Category(
        "office", 12.0,
        ("ergonomic", "refillable", "minimalist", "sturdy", "space-saving", "premium"),
        ("black", "a5", "a4", "recycled", "leather", "metal"),
        ("notebook", "desk lamp", "office chair", "ballpoint pens", "desk organizer",
         "stapler", "whiteboard", "planner"),
    ),
)

#: The category names, in the order the simulator uses the first ``n_categories`` of them.
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
