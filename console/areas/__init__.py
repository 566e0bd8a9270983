"""The areas of the console, one package each; `console.app` composes them."""
