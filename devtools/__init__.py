"""Development and test tools that production does not install: the BlueBubbles relay simulator.

A Django app only for `manage.py relay_simulator` (settings add it when TUCO_DEVTOOLS is on and the
package is present; the production image leaves the folder out, docker/.dockerignore). Nothing in
the product imports it.
"""
