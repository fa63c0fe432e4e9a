"""One construct per capability; stacks compose them."""
