"""The configuration schema and its YAML loader."""
