"""The reference text's recurrent models and their command line."""
