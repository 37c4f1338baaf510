"""The shared core: vocabulary, rules, dates, periods, the document model and the label catalog.

Pure: plain data and functions, no store, no files, no terminal. Every feature
reads its words and deadlines from here, so each fact is defined once.
"""
