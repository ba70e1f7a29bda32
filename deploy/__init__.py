"""Building what the function runs in, where its modules can import them the ordinary way.

The command lines stay beside what they build (deploy/docker/image.py, sam-local/build_image.py,
which `make image` and `make sam-image` run); deploy/docker/ is the image's build context
(.dockerignore), so it holds no __init__.py and is imported as the namespace `deploy.docker`.
"""
