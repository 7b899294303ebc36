#!/bin/sh
# The application's build step (what `mvn package` is for PetClinic): writes the page the
# image serves, with the build number and the application's name, so a test can tell which
# build answers.
set -eu
printf '%s build %s\n' "${APP_NAME:-web}" "${BUILD_NUMBER:?BUILD_NUMBER is not set}" >www/version.txt
