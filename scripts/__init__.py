"""Scripts that write the project's generated files: test vectors, API Gateway events, screenshots."""
