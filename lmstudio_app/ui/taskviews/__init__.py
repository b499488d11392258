"""Views shared by the word-tagging (ui/tokens) and question-answering (ui/qa) results and try-it views."""
