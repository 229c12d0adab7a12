x = "</script><script>alert(3)</script>"
y = '<!-- & -->' \u2028
