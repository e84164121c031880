"""The node agent: this pony's figures (psutil, power) served over HTTP; local mode shares them."""
