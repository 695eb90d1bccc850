#!/bin/sh
echo integration
