/* Says so when the page's libraries were never installed (a script file, not inline, so a
   content security policy of 'self' allows it). */
if (!window.jQuery) document.getElementById("boot-error").hidden = false;
