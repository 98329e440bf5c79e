"""Code the tests share: loaders and helpers, kept apart from the tests themselves."""
