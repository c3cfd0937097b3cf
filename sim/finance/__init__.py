"""Mechanisms that cut across actors: accounts, the loan book, underwriting, collections, regulation."""
